#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "absl/status/statusor.h"

namespace roomcast::auth {

// Who a verified token says the client is.
struct Identity {
  std::string user_id;  // The `sub` claim; empty when the token has none.
  boost::json::object claims;
};

struct JwtConfig {
  std::string secret;          // HS256 / HS384 / HS512.
  std::string public_key_pem;  // RS256 / ES256.
  std::chrono::seconds leeway{60};
  std::string issuer;    // Checked when set.
  std::string audience;  // Checked when set.
};

// Verifies compact JWS tokens (JWT): signature, `exp`/`nbf` with leeway,
// and optionally `iss`/`aud`. Errors say which check failed, in words a
// client can be shown ("token expired", "bad signature", ...).
class JwtVerifier {
 public:
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> Create(JwtConfig config);
  ~JwtVerifier();

  absl::StatusOr<Identity> Verify(std::string_view token,
                                  std::chrono::system_clock::time_point now) const;

 private:
  struct PublicKey;
  JwtVerifier(JwtConfig config, std::unique_ptr<PublicKey> key);

  JwtConfig config_;
  std::unique_ptr<PublicKey> public_key_;
};

// The claim checks shared with NextAuth session tokens: `exp`, `nbf`, and
// `iss`/`aud` when configured; fills the identity.
absl::StatusOr<Identity> CheckClaims(boost::json::object claims, const JwtConfig& config,
                                     std::chrono::system_clock::time_point now);

}  // namespace roomcast::auth
