#pragma once

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/auth/jwks_keys.h"
#include "server/observe/health.h"

namespace roomcast::app {

// Health's `jwks` check: DEGRADED while no key set has been fetched (every
// RS/ES token is refused) or the latest fetch failed (the old keys still
// verify, but a rotation would be missed). Never NOT_SERVING: emits, and
// tokens the keys still verify, keep working.
class JwksCheck final : public observe::HealthCheck {
 public:
  explicit JwksCheck(std::shared_ptr<const auth::JwksKeys> keys) : keys_(std::move(keys)) {}

  observe::CheckResult Run() override {
    const auth::JwksKeys::State state = keys_->state();
    observe::CheckResult result;
    result.name = "jwks";
    const bool fine = state.keys > 0 && state.last_fetch_ok;
    result.status = fine ? observe::Serving::kServing : observe::Serving::kDegraded;
    if (state.keys == 0) {
      result.detail =
          absl::StrCat("no keys yet", state.last_error.empty() ? "" : ": " + state.last_error);
    } else {
      result.detail = fine ? absl::StrCat(state.keys, " keys")
                           : absl::StrCat("keeping ", state.keys,
                                          " keys; last fetch failed: ", state.last_error);
    }
    return result;
  }

 private:
  std::shared_ptr<const auth::JwksKeys> keys_;
};

}  // namespace roomcast::app
