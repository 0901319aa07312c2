#include "server/auth/authenticator.h"

#include <boost/json.hpp>

#include "absl/strings/match.h"
#include "server/auth/nextauth.h"
#include "server/base/string_view.h"

namespace roomcast::auth {

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(AuthConfig config) {
  std::unique_ptr<JwtVerifier> jwt;
  std::shared_ptr<JwksKeys> jwks =
      config.jwks.url.empty() ? nullptr : std::make_shared<JwksKeys>(config.jwks);
  if (!config.jwt.secret.empty() || !config.jwt.public_key_pem.empty() || jwks) {
    absl::StatusOr<std::unique_ptr<JwtVerifier>> verifier = JwtVerifier::Create(config.jwt, jwks);
    if (!verifier.ok()) {
      return verifier.status();
    }
    jwt = *std::move(verifier);
  }
  return std::unique_ptr<Authenticator>(
      new Authenticator(std::move(config), std::move(jwt), std::move(jwks)));
}

absl::StatusOr<Identity> Authenticator::Authenticate(
    const boost::json::object& auth, std::string_view authorization_header,
    std::string_view cookie_header, std::chrono::system_clock::time_point now) const {
  std::string_view token;
  if (const boost::json::value* value = auth.if_contains("token")) {
    if (!value->is_string()) {
      return absl::UnauthenticatedError("malformed token: auth.token must be a string");
    }
    token = value->as_string();
  } else if (authorization_header.size() > 7 &&
             absl::EqualsIgnoreCase(ToAbsl(authorization_header.substr(0, 7)), "bearer ")) {
    token = authorization_header.substr(7);  // The scheme name is case-insensitive.
  }
  if (!token.empty() || config_.nextauth_secret.empty()) {
    if (!jwt_) {
      return absl::UnauthenticatedError("bearer tokens are not accepted here");
    }
    return jwt_->Verify(token, now);  // An empty token is "missing token".
  }
  std::optional<SessionCookie> cookie = FindSessionCookie(cookie_header);
  if (!cookie) {
    return absl::UnauthenticatedError("missing token");
  }
  absl::StatusOr<boost::json::object> claims =
      DecryptSessionToken(cookie->value, cookie->name, config_.nextauth_secret);
  if (!claims.ok()) {
    return claims.status();
  }
  // Session tokens carry no iss/aud of ours: only their time is checked.
  JwtConfig session_checks;
  session_checks.leeway = config_.jwt.leeway;
  return CheckClaims(*std::move(claims), session_checks, now);
}

}  // namespace roomcast::auth
