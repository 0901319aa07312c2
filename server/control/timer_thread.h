#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "absl/functional/any_invocable.h"

namespace roomcast::control {

// One thread that runs tasks when their time comes: the deadlines of the
// acks the control plane waits for. Tasks must be short; they run in
// deadline order, never concurrently.
class TimerThread {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = absl::AnyInvocable<void() &&>;

  TimerThread();
  // Stops without running what is still waiting (the owner answers it).
  ~TimerThread();
  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  // From any thread; after Stop, `task` is dropped.
  void RunAt(Clock::time_point when, Task task);
  // Joins the thread, dropping what waits; idempotent.
  void Stop();

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, Task> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace roomcast::control
