#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace roomcast::control {

// Remembers emit idempotency keys (per namespace) for a window, so a retry
// is answered with the first result instead of being delivered again.
class IdempotencyCache {
 public:
  struct Result {
    uint64_t recipients = 0;
    uint64_t offset = 0;
    std::string epoch;
  };
  using Clock = std::chrono::steady_clock;

  explicit IdempotencyCache(std::chrono::milliseconds window) : window_(window) {}

  // Gets the first attempt's result: at once, or when it completes while in
  // flight; nullopt when the first attempt failed.
  using OnFirst = absl::AnyInvocable<void(std::optional<Result>) &&>;

  // True if the key is new: the caller emits, then calls Complete() or
  // Release(). False: a repeat, and `on_first` will get the first result.
  bool Claim(const std::string& nsp, const std::string& key, OnFirst on_first);
  void Complete(const std::string& nsp, const std::string& key, Result result);
  // The first attempt failed: a retry may try again.
  void Release(const std::string& nsp, const std::string& key);

 private:
  struct Entry {
    std::optional<Result> result;
    Clock::time_point expires;
    std::vector<OnFirst> waiting;  // Repeats that came while the first was in flight.
  };
  void Finish(const std::string& nsp, const std::string& key, std::optional<Result> result);
  void ExpireOld(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  std::chrono::milliseconds window_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  std::deque<std::pair<Clock::time_point, std::string>> expiry_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::control
