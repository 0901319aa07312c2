#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "absl/status/statusor.h"
#include "server/auth/jwt.h"

namespace roomcast::auth {

struct AuthConfig {
  JwtConfig jwt;                // Bearer tokens: JWT_SECRET or a public key.
  JwksOptions jwks;             // Bearer tokens: keys from ROOMCAST_JWKS_URL.
  std::string nextauth_secret;  // NEXTAUTH_SECRET: NextAuth / Auth.js session cookies.

  bool enabled() const {
    return !jwt.secret.empty() || !jwt.public_key_pem.empty() || !jwks.url.empty() ||
           !nextauth_secret.empty();
  }
};

// Who is connecting: from the token in the CONNECT auth payload
// (`{"token":"..."}`), else an `Authorization: Bearer` header on the
// handshake, else a NextAuth / Auth.js session cookie.
class Authenticator {
 public:
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(AuthConfig config);

  absl::StatusOr<Identity> Authenticate(const boost::json::object& auth,
                                        std::string_view authorization_header,
                                        std::string_view cookie_header,
                                        std::chrono::system_clock::time_point now) const;

  // What the JWKS fetcher fills; null without ROOMCAST_JWKS_URL.
  const std::shared_ptr<JwksKeys>& jwks() const { return jwks_; }

 private:
  Authenticator(AuthConfig config, std::unique_ptr<JwtVerifier> jwt, std::shared_ptr<JwksKeys> jwks)
      : config_(std::move(config)), jwt_(std::move(jwt)), jwks_(std::move(jwks)) {}

  AuthConfig config_;
  std::unique_ptr<JwtVerifier> jwt_;  // Null without JWT settings.
  std::shared_ptr<JwksKeys> jwks_;
};

}  // namespace roomcast::auth
