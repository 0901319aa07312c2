#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "absl/status/statusor.h"

namespace roomcast::auth {

// A NextAuth / Auth.js session cookie, chunks already joined.
struct SessionCookie {
  std::string name;   // Without a chunk suffix, e.g. "next-auth.session-token".
  std::string value;  // The compact JWE.
};

// The session cookie in a Cookie header, if any: NextAuth v4
// (`next-auth.session-token`, `__Secure-…`) or Auth.js v5
// (`authjs.session-token`, `__Secure-…`); large sessions come in chunks
// `<name>.0`, `<name>.1`, … joined in order.
std::optional<SessionCookie> FindSessionCookie(std::string_view cookie_header);

// Decrypts a session token (compact JWE, alg `dir`) with the app's secret:
// NextAuth v4 tokens are A256GCM with key HKDF-SHA256(secret, salt "",
// info "NextAuth.js Generated Encryption Key", 32 bytes); Auth.js v5 tokens
// are A256CBC-HS512 with a 64-byte key, salt = the cookie name and info
// "Auth.js Generated Encryption Key (<cookie name>)". Returns the claims.
absl::StatusOr<boost::json::object> DecryptSessionToken(std::string_view token,
                                                        std::string_view cookie_name,
                                                        std::string_view secret);

}  // namespace roomcast::auth
