#include "server/auth/jwks_keys.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/base/string_view.h"

namespace roomcast::auth {

std::chrono::seconds RefreshAfter(std::string_view cache_control, const JwksOptions& options) {
  std::optional<int64_t> max_age;
  for (absl::string_view directive : absl::StrSplit(ToAbsl(cache_control), ',')) {
    directive = absl::StripAsciiWhitespace(directive);
    const std::string lower = absl::AsciiStrToLower(directive);
    if (lower == "no-cache" || lower == "no-store") {
      return options.min_refresh;
    }
    absl::string_view value = lower;
    int64_t seconds = 0;
    if (absl::ConsumePrefix(&value, "max-age=")) {
      absl::ConsumePrefix(&value, "\"");  // RFC 9111 tolerates a quoted value.
      absl::ConsumeSuffix(&value, "\"");
      if (!absl::SimpleAtoi(value, &seconds) || seconds < 0) {
        return options.refresh;  // Malformed: as if there were none.
      }
      max_age = seconds;
    }
  }
  if (!max_age) {
    return options.refresh;
  }
  return std::clamp(std::chrono::seconds(*max_age), options.min_refresh, JwksOptions::kMaxRefresh);
}

void JwksKeys::Replace(std::shared_ptr<const JwkSet> keys) {
  absl::MutexLock lock(&mutex_);
  state_.keys = keys->size();
  state_.last_fetch_ok = true;
  state_.last_error.clear();
  ++state_.fetches;
  keys_ = std::move(keys);
}

void JwksKeys::FetchFailed(const absl::Status& why) {
  absl::MutexLock lock(&mutex_);
  state_.last_fetch_ok = false;
  state_.last_error = std::string(why.message());
  ++state_.failures;
}

void JwksKeys::SetRefetch(std::function<void()> refetch) {
  absl::MutexLock lock(&mutex_);
  refetch_ = std::move(refetch);
}

std::shared_ptr<const JwkSet> JwksKeys::current() const {
  absl::MutexLock lock(&mutex_);
  return keys_;
}

JwksKeys::State JwksKeys::state() const {
  absl::MutexLock lock(&mutex_);
  return state_;
}

bool JwksKeys::RefetchForUnknownKid(std::chrono::steady_clock::time_point now) {
  absl::MutexLock lock(&mutex_);
  if (!refetch_ || (refetched_ && now - last_refetch_ < options_.min_refresh)) {
    return false;
  }
  refetched_ = true;
  last_refetch_ = now;
  refetch_();  // Only posts to the fetcher's thread: cheap under the lock.
  return true;
}

}  // namespace roomcast::auth
