#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "absl/status/statusor.h"
#include "server/auth/cjose_handles.h"
#include "server/auth/jwks_keys.h"

namespace roomcast::auth {

// Who a verified token says the client is.
struct Identity {
  std::string user_id;  // The `sub` claim; empty when the token has none.
  boost::json::object claims;
};

struct JwtConfig {
  std::string secret;          // HS256 / HS384 / HS512.
  std::string public_key_pem;  // RS*, PS*, ES* fitting the key.
  std::chrono::seconds leeway{60};
  std::string issuer;    // Checked when set.
  std::string audience;  // Checked when set.
};

// Verifies compact JWS tokens (JWT) with cjose: signature, `exp`/`nbf`
// with leeway, and optionally `iss`/`aud`. HS* tokens verify with the
// secret only; RS/PS/ES tokens with the JWKS key their `kid` names, else
// the PEM key. Errors say which check failed, in words a client can be
// shown ("token expired", "bad signature", ...).
class JwtVerifier {
 public:
  // `jwks` (may be null): the keys fetched from ROOMCAST_JWKS_URL.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> Create(
      JwtConfig config, std::shared_ptr<JwksKeys> jwks = nullptr);
  ~JwtVerifier();

  absl::StatusOr<Identity> Verify(std::string_view token,
                                  std::chrono::system_clock::time_point now) const;

 private:
  struct Key;
  JwtVerifier(JwtConfig config, JwkHandle secret, JwkHandle public_key,
              std::shared_ptr<JwksKeys> jwks);
  absl::StatusOr<Key> KeyFor(std::string_view alg, std::string_view kid) const;

  JwtConfig config_;
  JwkHandle secret_;      // Null without a secret.
  JwkHandle public_key_;  // Null without a PEM key.
  std::shared_ptr<JwksKeys> jwks_;
};

// The claim checks shared with NextAuth session tokens: `exp`, `nbf`, and
// `iss`/`aud` when configured; fills the identity.
absl::StatusOr<Identity> CheckClaims(boost::json::object claims, const JwtConfig& config,
                                     std::chrono::system_clock::time_point now);

}  // namespace roomcast::auth
