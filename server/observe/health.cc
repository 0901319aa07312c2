#include "server/observe/health.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"

namespace roomcast::observe {

HealthChecker::HealthChecker(std::vector<std::unique_ptr<HealthCheck>> checks,
                             std::chrono::milliseconds interval, Callback on_report)
    : checks_(std::move(checks)), interval_(interval), on_report_(std::move(on_report)) {
  thread_ = std::thread([this] { Loop(); });
}

HealthChecker::~HealthChecker() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void HealthChecker::CheckNow(Callback done) {
  absl::MutexLock lock(&mutex_);
  waiting_.push_back(std::move(done));
}

void HealthChecker::Loop() {
  while (true) {
    std::vector<Callback> waiting;
    {
      absl::MutexLock lock(&mutex_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || !waiting_.empty();
      };
      mutex_.AwaitWithTimeout(absl::Condition(&wake), absl::FromChrono(interval_));
      if (stopping_) {
        return;
      }
      waiting.swap(waiting_);
    }
    const HealthReport report = RunAll();
    on_report_(report);
    for (const Callback& done : waiting) {
      done(report);
    }
  }
}

HealthReport HealthChecker::RunAll() {
  HealthReport report;
  for (const auto& check : checks_) {
    report.checks.push_back(check->Run());
    report.status = std::max(report.status, report.checks.back().status);
  }
  return report;
}

CheckResult MemoryCheck::Run() {
  CheckResult result;
  result.name = "memory";
  size_t pages_total = 0;
  size_t pages_resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> pages_total >> pages_resident;
  const size_t rss = pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  result.detail = absl::StrCat("rss_bytes=", rss);
  if (soft_limit_bytes_ > 0 && rss > soft_limit_bytes_) {
    result.status = Serving::kDegraded;
    absl::StrAppend(&result.detail, " over soft limit ", soft_limit_bytes_);
  }
  return result;
}

CheckResult UptimeCheck::Run() {
  const auto up = std::chrono::steady_clock::now() - started_;
  CheckResult result;
  result.name = "uptime";
  result.detail =
      absl::StrCat("seconds=", std::chrono::duration_cast<std::chrono::seconds>(up).count());
  return result;
}

}  // namespace roomcast::observe
