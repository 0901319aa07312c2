// JWT verification (cjose's JWS import), NextAuth / Auth.js session cookies
// (cjose's JWE import and decrypt), JWKS documents and their Cache-Control,
// on any bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/object.hpp>

#include "server/auth/jwk_set.h"
#include "server/auth/jwks_keys.h"
#include "server/auth/jwt.h"
#include "server/auth/nextauth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const auto verifier = [] {
    roomcast::auth::JwtConfig config;
    config.secret = "fuzz-secret";
    config.issuer = "roomcast";
    // ES256 tokens naming kid "k" reach cjose's verify with a JWKS key.
    auto jwks = std::make_shared<roomcast::auth::JwksKeys>(roomcast::auth::JwksOptions{});
    jwks->Replace(
        *roomcast::auth::JwkSet::Parse(R"({"keys":[{"kty":"EC","kid":"k","crv":"P-256",)"
                                       R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                                       R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})"));
    return *roomcast::auth::JwtVerifier::Create(config, std::move(jwks));
  }();
  (void)verifier->Verify(input, std::chrono::system_clock::now());
  if (auto cookie = roomcast::auth::FindSessionCookie(input)) {
    (void)roomcast::auth::DecryptSessionToken(cookie->value, cookie->name, "fuzz-secret");
  }
  (void)roomcast::auth::DecryptSessionToken(input, "next-auth.session-token", "fuzz-secret");
  (void)roomcast::auth::DecryptSessionToken(input, "authjs.session-token", "fuzz-secret");
  if (auto keys = roomcast::auth::JwkSet::Parse(input); keys.ok()) {
    for (const char* alg : {"RS256", "PS384", "ES256", "ES512", "HS256"}) {
      (void)(*keys)->Find("k", alg);
    }
  }
  (void)roomcast::auth::RefreshAfter(input, roomcast::auth::JwksOptions{});
  return 0;
}
