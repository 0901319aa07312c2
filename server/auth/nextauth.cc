#include "server/auth/nextauth.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <array>
#include <map>
#include <memory>
#include <vector>

#include <boost/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/auth/cjose_handles.h"
#include "server/base/string_view.h"

namespace roomcast::auth {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 4> kCookieNames = {
    "__Secure-next-auth.session-token", "next-auth.session-token", "__Secure-authjs.session-token",
    "authjs.session-token"};

bool IsAuthJs(std::string_view cookie_name) {
  return absl::StrContains(ToAbsl(cookie_name), "authjs");
}

absl::StatusOr<std::string> Hkdf(std::string_view secret, std::string_view salt,
                                 std::string_view info, size_t length) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), EVP_PKEY_CTX_free);
  std::string key(length, '\0');
  size_t out_length = length;
  const auto* salt_bytes = reinterpret_cast<const unsigned char*>(salt.empty() ? "" : salt.data());
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt_bytes, static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                                 static_cast<int>(secret.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<const unsigned char*>(info.data()),
                                  static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(key.data()), &out_length) <= 0) {
    return absl::InternalError("HKDF failed");
  }
  return key;
}

// The IV and tag sizes `enc` requires (RFC 7518 §5.2.5, §5.3), checked on the
// compact form's base64url lengths before cjose sees the token: cjose 0.6.2
// copies a fixed-size IV out of whatever the token holds (ASan caught a
// read past a short one).
bool PartsFit(std::string_view token, std::string_view enc) {
  const std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(token), '.');
  const auto encoded = [](size_t bytes) { return (bytes * 4 + 2) / 3; };  // Unpadded.
  const size_t iv = enc == "A256GCM" ? 12 : 16;
  const size_t tag = enc == "A256GCM" ? 16 : 32;
  return parts.size() == 5 && parts[1].empty() && parts[2].size() == encoded(iv) &&
         parts[4].size() == encoded(tag);
}

}  // namespace

std::optional<SessionCookie> FindSessionCookie(std::string_view cookie_header) {
  std::map<std::string, std::string> cookies;
  for (absl::string_view pair :
       absl::StrSplit(ToAbsl(cookie_header), ';', absl::SkipWhitespace())) {
    pair = absl::StripAsciiWhitespace(pair);
    const size_t equals = pair.find('=');
    if (equals != absl::string_view::npos) {
      cookies[std::string(pair.substr(0, equals))] = std::string(pair.substr(equals + 1));
    }
  }
  for (std::string_view name : kCookieNames) {
    const std::string key(name);
    if (auto it = cookies.find(key); it != cookies.end()) {
      return SessionCookie{key, it->second};
    }
    std::string joined;
    for (int chunk = 0; cookies.contains(absl::StrCat(key, ".", chunk)); ++chunk) {
      joined += cookies[absl::StrCat(key, ".", chunk)];
    }
    if (!joined.empty()) {
      return SessionCookie{key, std::move(joined)};
    }
  }
  return std::nullopt;
}

absl::StatusOr<json::object> DecryptSessionToken(std::string_view token,
                                                 std::string_view cookie_name,
                                                 std::string_view secret) {
  cjose_err err{};
  JweHandle jwe(OnlyBase64UrlAndDots(token) ? cjose_jwe_import(token.data(), token.size(), &err)
                                            : nullptr);
  if (!jwe) {
    return absl::UnauthenticatedError("malformed session token");
  }
  cjose_header_t* header = cjose_jwe_get_protected(jwe.get());
  const char* alg = cjose_header_get(header, CJOSE_HDR_ALG, &err);
  const char* enc_value = cjose_header_get(header, CJOSE_HDR_ENC, &err);
  if (alg == nullptr || std::string_view(alg) != "dir" || enc_value == nullptr) {
    return absl::UnauthenticatedError("malformed session token: not a direct-key JWE");
  }
  const std::string_view enc(enc_value);
  absl::StatusOr<std::string> key;
  if (enc == "A256GCM" && !IsAuthJs(cookie_name)) {
    key = Hkdf(secret, "", "NextAuth.js Generated Encryption Key", 32);
  } else if (enc == "A256CBC-HS512" && IsAuthJs(cookie_name)) {
    key = Hkdf(secret, cookie_name,
               absl::StrCat("Auth.js Generated Encryption Key (", ToAbsl(cookie_name), ")"), 64);
  } else {
    return absl::UnauthenticatedError(
        absl::StrCat("unsupported session token encryption ", ToAbsl(enc)));
  }
  if (!key.ok()) {
    return key.status();
  }
  if (!PartsFit(token, enc)) {
    return absl::UnauthenticatedError("malformed session token");
  }
  JwkHandle jwk(
      cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(key->data()), key->size(), &err));
  if (!jwk) {
    return CjoseError("session key", err);
  }
  size_t length = 0;
  CjoseBytes plain(cjose_jwe_decrypt(jwe.get(), jwk.get(), &length, &err));
  if (!plain) {
    return absl::UnauthenticatedError("session token does not decrypt with this secret");
  }
  boost::system::error_code ec;
  json::value claims =
      json::parse(std::string_view(reinterpret_cast<const char*>(plain.get()), length), ec);
  if (ec || !claims.is_object()) {
    return absl::UnauthenticatedError("malformed session token: payload is not JSON");
  }
  return std::move(claims.as_object());
}

}  // namespace roomcast::auth
