// JWT verification and NextAuth / Auth.js session cookies, on any bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/object.hpp>

#include "server/auth/jwt.h"
#include "server/auth/nextauth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const auto verifier = [] {
    roomcast::auth::JwtConfig config;
    config.secret = "fuzz-secret";
    config.issuer = "roomcast";
    return *roomcast::auth::JwtVerifier::Create(config);
  }();
  (void)verifier->Verify(input, std::chrono::system_clock::now());
  if (auto cookie = roomcast::auth::FindSessionCookie(input)) {
    (void)roomcast::auth::DecryptSessionToken(cookie->value, cookie->name, "fuzz-secret");
  }
  (void)roomcast::auth::DecryptSessionToken(input, "next-auth.session-token", "fuzz-secret");
  (void)roomcast::auth::DecryptSessionToken(input, "authjs.session-token", "fuzz-secret");
  return 0;
}
