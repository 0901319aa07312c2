#include "server/net/timer_wheel.h"

#include <functional>
#include <vector>

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

using Clock = TimerWheel::Clock;
using std::chrono::milliseconds;

class Probe final : public TimerWheel::Entry {
 public:
  explicit Probe(std::function<void()> on_deadline) : on_deadline_(std::move(on_deadline)) {}
  ~Probe() = default;

 private:
  void OnDeadline() override { on_deadline_(); }
  std::function<void()> on_deadline_;
};

TEST(TimerWheelTest, FiresInDeadlineOrderAndNeverEarly) {
  boost::asio::io_context io;
  TimerWheel wheel(io);
  const Clock::time_point start = Clock::now();
  std::vector<std::pair<int, Clock::time_point>> fired;
  std::vector<std::unique_ptr<Probe>> probes;
  for (int ms : {50, 10, 30, 0}) {
    probes.push_back(std::make_unique<Probe>([&fired, ms] {
      fired.push_back({ms, Clock::now()});
    }));
    wheel.Schedule(*probes.back(), start + milliseconds(ms));
  }
  io.run_for(std::chrono::milliseconds(200));
  ASSERT_EQ(fired.size(), 4u);
  std::vector<int> order;
  for (auto& [ms, when] : fired) {
    order.push_back(ms);
    EXPECT_GE(when, start + milliseconds(ms));
    EXPECT_LT(when, start + milliseconds(ms + 40)) << ms;  // a slot late at most, plus scheduling
  }
  EXPECT_EQ(order, (std::vector<int>{0, 10, 30, 50}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CancelAndRescheduleFromACallback) {
  boost::asio::io_context io;
  TimerWheel wheel(io);
  int first_fired = 0, second_fired = 0, cancelled_fired = 0;
  std::unique_ptr<Probe> second;
  Probe cancelled([&] { ++cancelled_fired; });
  Probe first([&] {
    ++first_fired;
    wheel.Cancel(cancelled);
    if (first_fired < 3) wheel.Schedule(*second, Clock::now() + milliseconds(5));
  });
  second = std::make_unique<Probe>([&] {
    ++second_fired;
    wheel.Schedule(first, Clock::now() + milliseconds(5));
  });
  wheel.Schedule(first, Clock::now() + milliseconds(5));
  wheel.Schedule(cancelled, Clock::now() + milliseconds(30));
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(first_fired, 3);
  EXPECT_EQ(second_fired, 2);
  EXPECT_EQ(cancelled_fired, 0);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, ADestroyedEntryLeavesTheWheel) {
  boost::asio::io_context io;
  TimerWheel wheel(io);
  int fired = 0;
  auto doomed = std::make_unique<Probe>([&] { ++fired; });
  Probe kept([&] { ++fired; });
  wheel.Schedule(*doomed, Clock::now() + milliseconds(10));
  wheel.Schedule(kept, Clock::now() + milliseconds(10));
  doomed.reset();
  EXPECT_EQ(wheel.size(), 1u);
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheelTest, DeadlinesBeyondOneTurnWaitTheirTurn) {
  boost::asio::io_context io;
  TimerWheel wheel(io);
  int fired = 0;
  Probe far([&] { ++fired; });
  // Past the wheel's reach (8192 slots of 10 ms): it must not fire now.
  wheel.Schedule(far, Clock::now() + std::chrono::seconds(200));
  Probe near([&] {});
  wheel.Schedule(near, Clock::now() + milliseconds(20));
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Cancel(far);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, AFarEntryDoesNotHoldBackNearerOnes) {
  boost::asio::io_context io;
  TimerWheel wheel(io, 4);  // reaches 40 ms ahead: the wheel turns several times below
  const Clock::time_point start = Clock::now();
  std::vector<std::pair<int, Clock::time_point>> fired;
  std::vector<std::unique_ptr<Probe>> probes;
  // The far one is filed first, in the farthest slot; each turn reaches it
  // before its deadline and must file it again, not stop at it.
  for (int ms : {150, 20, 95}) {
    probes.push_back(std::make_unique<Probe>([&fired, ms] {
      fired.push_back({ms, Clock::now()});
    }));
    wheel.Schedule(*probes.back(), start + milliseconds(ms));
  }
  io.run_for(std::chrono::milliseconds(400));
  ASSERT_EQ(fired.size(), 3u);
  std::vector<int> order;
  for (auto& [ms, when] : fired) {
    order.push_back(ms);
    EXPECT_GE(when, start + milliseconds(ms));
    EXPECT_LT(when, start + milliseconds(ms + 40)) << ms;
  }
  EXPECT_EQ(order, (std::vector<int>{20, 95, 150}));
  EXPECT_EQ(wheel.size(), 0u);
}

}  // namespace
}  // namespace roomcast::net
