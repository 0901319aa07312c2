#include "server/control/timer_thread.h"

namespace roomcast::control {

TimerThread::TimerThread() : thread_([this] { Loop(); }) {}

TimerThread::~TimerThread() { Stop(); }

void TimerThread::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  tasks_.clear();
}

void TimerThread::RunAt(Clock::time_point when, Task task) {
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return;
    }
    earliest = tasks_.empty() || when < tasks_.begin()->first;
    tasks_.emplace(when, std::move(task));
  }
  if (earliest) {
    wake_.notify_one();
  }
}

void TimerThread::Loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (tasks_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto first = tasks_.begin();
    if (Clock::now() < first->first) {
      wake_.wait_until(lock, first->first);
      continue;
    }
    Task task = std::move(first->second);
    tasks_.erase(first);
    lock.unlock();
    std::move(task)();
    lock.lock();
  }
}

}  // namespace roomcast::control
