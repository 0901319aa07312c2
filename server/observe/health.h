#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace roomcast::observe {

enum class Serving { kServing, kDegraded, kNotServing };

struct CheckResult {
  std::string name;
  Serving status = Serving::kServing;
  std::chrono::duration<double, std::milli> latency{0};
  std::string detail;
};

struct HealthReport {
  Serving status = Serving::kServing;  // The worst of the checks.
  std::vector<CheckResult> checks;
};

// One thing health depends on. Run() may block (a database round trip):
// it is only called from the checker's own thread.
class HealthCheck {
 public:
  virtual ~HealthCheck() = default;
  virtual CheckResult Run() = 0;
};

// Runs the checks on its own thread: every `interval` (telling the
// subscriber, e.g. gRPC health) and whenever someone asks for a fresh report.
class HealthChecker {
 public:
  using Callback = std::function<void(const HealthReport&)>;

  HealthChecker(std::vector<std::unique_ptr<HealthCheck>> checks,
                std::chrono::milliseconds interval, Callback on_report);
  ~HealthChecker();

  // `done` gets a fresh report, from the checker's thread.
  void CheckNow(Callback done);

 private:
  void Loop();
  HealthReport RunAll();

  std::vector<std::unique_ptr<HealthCheck>> checks_;
  std::chrono::milliseconds interval_;
  Callback on_report_;
  absl::Mutex mutex_;
  std::vector<Callback> waiting_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

// Resident memory against a soft limit (0 = none): over it is DEGRADED.
class MemoryCheck final : public HealthCheck {
 public:
  explicit MemoryCheck(size_t soft_limit_bytes) : soft_limit_bytes_(soft_limit_bytes) {}
  CheckResult Run() override;

 private:
  size_t soft_limit_bytes_;
};

// How long the process has been up; always passes.
class UptimeCheck final : public HealthCheck {
 public:
  UptimeCheck() : started_(std::chrono::steady_clock::now()) {}
  CheckResult Run() override;

 private:
  std::chrono::steady_clock::time_point started_;
};

}  // namespace roomcast::observe
