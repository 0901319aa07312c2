#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/jwk_set.h"

namespace roomcast::auth {

struct JwksOptions {
  std::string url;  // ROOMCAST_JWKS_URL; empty: no JWKS.
  // How long a key set is used when its response names no max-age.
  std::chrono::seconds refresh{300};
  // The shortest a max-age is taken as, the wait before retrying a failed
  // fetch, and how often an unknown `kid` may cause a refetch.
  std::chrono::seconds min_refresh{30};
  // The longest a max-age is taken as: keys rotate within a day.
  static constexpr std::chrono::seconds kMaxRefresh{86400};
};

// How long to keep a JWKS response: its Cache-Control `max-age` bounded to
// [min_refresh, kMaxRefresh]; `no-cache` / `no-store` mean min_refresh;
// none (or a malformed one) means `refresh`.
std::chrono::seconds RefreshAfter(std::string_view cache_control, const JwksOptions& options);

// The keys fetched from the JWKS endpoint, shared by the verifiers (any
// thread) and the fetcher (its own). A failed fetch keeps the last set.
class JwksKeys {
 public:
  struct State {
    size_t keys = 0;             // In the current set; 0 before the first fetch.
    bool last_fetch_ok = false;  // The latest fetch gave a usable set.
    std::string last_error;      // Why the latest fetch failed.
    uint64_t fetches = 0;        // Answered with a usable set.
    uint64_t failures = 0;       // Failed: unreachable, timed out, not 2xx, not a JWKS.
  };

  explicit JwksKeys(JwksOptions options) : options_(std::move(options)) {}

  const JwksOptions& options() const { return options_; }

  // From the fetcher.
  void Replace(std::shared_ptr<const JwkSet> keys);
  void FetchFailed(const absl::Status& why);
  // The fetcher's way to be asked for a fetch now (posts to its thread);
  // null to stop (waits for a call in progress).
  void SetRefetch(std::function<void()> refetch);

  // Null before the first successful fetch.
  std::shared_ptr<const JwkSet> current() const;
  State state() const;

  // A token named a kid the set lacks: asks the fetcher for a fetch, unless
  // one was asked less than min_refresh ago. Returns whether it asked.
  bool RefetchForUnknownKid(std::chrono::steady_clock::time_point now);

 private:
  const JwksOptions options_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const JwkSet> keys_ ABSL_GUARDED_BY(mutex_);
  State state_ ABSL_GUARDED_BY(mutex_);
  std::function<void()> refetch_ ABSL_GUARDED_BY(mutex_);
  std::chrono::steady_clock::time_point last_refetch_ ABSL_GUARDED_BY(mutex_);
  bool refetched_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace roomcast::auth
