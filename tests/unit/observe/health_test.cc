#include "server/observe/health.h"

#include <atomic>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

namespace roomcast::observe {
namespace {

// A check that answers what the test set, and counts its runs.
class SettableCheck final : public HealthCheck {
 public:
  SettableCheck(std::string name, std::atomic<Serving>& status, std::atomic<int>& runs)
      : name_(std::move(name)), status_(status), runs_(runs) {}
  CheckResult Run() override {
    ++runs_;
    CheckResult result;
    result.name = name_;
    result.status = status_.load();
    return result;
  }

 private:
  std::string name_;
  std::atomic<Serving>& status_;
  std::atomic<int>& runs_;
};

HealthReport CheckNowAndWait(HealthChecker& checker) {
  absl::Notification done;
  HealthReport report;
  checker.CheckNow([&](const HealthReport& fresh) {
    report = fresh;
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  return report;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  std::vector<std::unique_ptr<HealthCheck>> Checks() {
    std::vector<std::unique_ptr<HealthCheck>> checks;
    checks.push_back(std::make_unique<SettableCheck>("database", database_, runs_));
    checks.push_back(std::make_unique<SettableCheck>("memory", memory_, runs_));
    return checks;
  }

  std::atomic<Serving> database_{Serving::kServing};
  std::atomic<Serving> memory_{Serving::kServing};
  std::atomic<int> runs_{0};
};

TEST_F(HealthCheckerTest, TheReportIsTheWorstCheckAndListsEachInOrder) {
  HealthChecker checker(Checks(), std::chrono::hours(1), [](const HealthReport&) {});
  EXPECT_EQ(CheckNowAndWait(checker).status, Serving::kServing);
  memory_ = Serving::kDegraded;
  HealthReport degraded = CheckNowAndWait(checker);
  EXPECT_EQ(degraded.status, Serving::kDegraded);
  ASSERT_EQ(degraded.checks.size(), 2u);
  EXPECT_EQ(degraded.checks[0].name, "database");
  EXPECT_EQ(degraded.checks[1].name, "memory");
  database_ = Serving::kNotServing;
  EXPECT_EQ(CheckNowAndWait(checker).status, Serving::kNotServing) << "worse than degraded";
}

TEST_F(HealthCheckerTest, CheckNowRunsTheChecksAfreshEveryTime) {
  HealthChecker checker(Checks(), std::chrono::hours(1), [](const HealthReport&) {});
  CheckNowAndWait(checker);
  const int after_first = runs_.load();
  CheckNowAndWait(checker);
  EXPECT_EQ(runs_.load(), after_first + 2) << "both checks ran again";
}

TEST_F(HealthCheckerTest, TheBackgroundLoopTellsTheSubscriberEveryInterval) {
  std::atomic<int> reports{0};
  absl::Notification three;
  HealthChecker checker(Checks(), std::chrono::milliseconds(10), [&](const HealthReport&) {
    if (++reports == 3) three.Notify();
  });
  EXPECT_TRUE(three.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(HealthCheckerTest, DestroyingItStopsTheLoopAtOnce) {
  const auto started = std::chrono::steady_clock::now();
  {
    HealthChecker checker(Checks(), std::chrono::hours(1), [](const HealthReport&) {});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(MemoryCheckTest, OverTheSoftLimitIsDegraded) {
  EXPECT_EQ(MemoryCheck(0).Run().status, Serving::kServing) << "0 = no limit";
  EXPECT_EQ(MemoryCheck(size_t{1} << 50).Run().status, Serving::kServing);
  CheckResult over = MemoryCheck(1).Run();
  EXPECT_EQ(over.status, Serving::kDegraded);
  EXPECT_NE(over.detail.find("over soft limit"), std::string::npos) << over.detail;
}

}  // namespace
}  // namespace roomcast::observe
