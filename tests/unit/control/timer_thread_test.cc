#include "server/control/timer_thread.h"

#include <future>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

namespace roomcast::control {
namespace {

using namespace std::chrono_literals;

TEST(TimerThreadTest, RunsTasksInDeadlineOrderNotBefore) {
  TimerThread timers;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> done;
  const auto start = TimerThread::Clock::now();
  TimerThread::Clock::time_point last_ran;
  timers.RunAt(start + 60ms, [&] {
    std::lock_guard lock(mutex);
    order.push_back(2);
    last_ran = TimerThread::Clock::now();
    done.set_value();
  });
  timers.RunAt(start + 20ms, [&] {
    std::lock_guard lock(mutex);
    order.push_back(1);
  });
  ASSERT_EQ(done.get_future().wait_for(2s), std::future_status::ready);
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(last_ran - start, 60ms);
}

TEST(TimerThreadTest, StopDropsWhatWaits) {
  TimerThread timers;
  bool ran = false;
  timers.RunAt(TimerThread::Clock::now() + 1h, [&] { ran = true; });
  timers.Stop();
  timers.RunAt(TimerThread::Clock::now(), [&] { ran = true; });
  timers.Stop();
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace roomcast::control
