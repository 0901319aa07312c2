#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/base/token_bucket.h"

namespace roomcast::auth {

// Whether `password` is the one `hash` (bcrypt: $2a$, $2b$ or $2y$) was made
// from; libcrypt hashes it again and the results are compared in constant time.
bool BcryptMatches(std::string_view password, const std::string& hash);
// Whether `hash` is a bcrypt hash libcrypt can check against.
absl::Status CheckBcryptHash(std::string_view hash);

// The Admin UI's logged-in sessions: random ids, each valid for `ttl` after
// it was made, at most `capacity` at once (the oldest goes first).
class AdminSessions {
 public:
  using Clock = std::chrono::steady_clock;
  AdminSessions(size_t capacity, Clock::duration ttl) : capacity_(capacity), ttl_(ttl) {}

  std::string Create(Clock::time_point now = Clock::now());
  bool Valid(std::string_view id, Clock::time_point now = Clock::now());
  size_t size() const;

 private:
  void DropExpired(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const size_t capacity_;
  const Clock::duration ttl_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Clock::time_point> expiry_ ABSL_GUARDED_BY(mutex_);
};

// Who may open the Admin UI: a username and a bcrypt hash, login attempts
// limited per client address (reconnects with a session id are not). Thread-safe.
class AdminLogin {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::string username;
    std::string password_hash;
    double attempts_per_minute = 5;  // Per address, with a burst of as many.
    size_t max_sessions = 1000;
    Clock::duration session_ttl = std::chrono::hours(24);
    size_t max_tracked_addresses = 10000;
  };
  explicit AdminLogin(Options options);

  // The CONNECT auth payload's fields. A valid `session_id` is accepted as
  // it is (empty string: a new session is not made); right credentials make
  // a session and return its id; anything else is an error saying why.
  absl::StatusOr<std::string> Login(std::string_view address, std::string_view username,
                                    std::string_view password, std::string_view session_id,
                                    Clock::time_point now = Clock::now());

 private:
  // Takes one attempt from the address's budget; false when none is left.
  bool AllowAttempt(std::string_view address, Clock::time_point now);

  const Options options_;
  AdminSessions sessions_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, base::TokenBucket> attempts_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::auth
