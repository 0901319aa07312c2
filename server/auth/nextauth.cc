#include "server/auth/nextauth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <array>
#include <memory>

#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

absl::StatusOr<std::string> DecryptGcm(const std::string& key, const std::string& iv,
                                       const std::string& ciphertext, const std::string& tag,
                                       std::string_view aad) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string plain(ciphertext.size(), '\0');
  int length = 0;
  int final_length = 0;
  const bool ok =
      ctx && tag.size() == 16 &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                          nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(iv.data())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &length,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, const_cast<char*>(tag.data())) ==
          1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + length,
                          &final_length) == 1;
  if (!ok) {
    return absl::UnauthenticatedError("session token does not decrypt with this secret");
  }
  plain.resize(length + final_length);
  return plain;
}

// A256CBC-HS512 (RFC 7518 5.2.5): HMAC-SHA512 over AAD || IV || ciphertext
// || AAD bit length, its first 32 bytes the tag; then AES-256-CBC.
absl::StatusOr<std::string> DecryptCbcHs512(const std::string& key, const std::string& iv,
                                            const std::string& ciphertext, const std::string& tag,
                                            std::string_view aad) {
  const std::string mac_key = key.substr(0, 32);
  const std::string enc_key = key.substr(32, 32);
  std::string mac_input = absl::StrCat(ToAbsl(aad), iv, ciphertext);
  const uint64_t aad_bits = static_cast<uint64_t>(aad.size()) * 8;
  for (int shift = 56; shift >= 0; shift -= 8) {
    mac_input.push_back(static_cast<char>((aad_bits >> shift) & 0xff));
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA512", nullptr, mac_key.data(), mac_key.size(),
                reinterpret_cast<const unsigned char*>(mac_input.data()), mac_input.size(), mac,
                sizeof(mac), &mac_length) == nullptr ||
      tag.size() != 32 || CRYPTO_memcmp(mac, tag.data(), 32) != 0) {
    return absl::UnauthenticatedError("session token does not decrypt with this secret");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string plain(ciphertext.size() + 16, '\0');
  int length = 0;
  int final_length = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr,
                         reinterpret_cast<const unsigned char*>(enc_key.data()),
                         reinterpret_cast<const unsigned char*>(iv.data())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &length,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + length,
                          &final_length) != 1) {
    return absl::UnauthenticatedError("malformed session token");
  }
  plain.resize(length + final_length);
  return plain;
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
  std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(token), '.');
  std::string header_json;
  std::string iv;
  std::string ciphertext;
  std::string tag;
  if (parts.size() != 5 || !parts[1].empty() ||
      !absl::WebSafeBase64Unescape(parts[0], &header_json) ||
      !absl::WebSafeBase64Unescape(parts[2], &iv) ||
      !absl::WebSafeBase64Unescape(parts[3], &ciphertext) ||
      !absl::WebSafeBase64Unescape(parts[4], &tag)) {
    return absl::UnauthenticatedError("malformed session token");
  }
  boost::system::error_code ec;
  json::value header = json::parse(header_json, ec);
  const json::object* fields = ec ? nullptr : header.if_object();
  const json::value* alg = fields ? fields->if_contains("alg") : nullptr;
  const json::value* enc = fields ? fields->if_contains("enc") : nullptr;
  if (alg == nullptr || !alg->is_string() || alg->as_string() != "dir" || enc == nullptr ||
      !enc->is_string()) {
    return absl::UnauthenticatedError("malformed session token: not a direct-key JWE");
  }
  const std::string_view aad = ToStd(parts[0]);
  absl::StatusOr<std::string> plain;
  if (enc->as_string() == "A256GCM" && !IsAuthJs(cookie_name)) {
    absl::StatusOr<std::string> key = Hkdf(secret, "", "NextAuth.js Generated Encryption Key", 32);
    plain = key.ok() ? DecryptGcm(*key, iv, ciphertext, tag, aad) : key.status();
  } else if (enc->as_string() == "A256CBC-HS512" && IsAuthJs(cookie_name)) {
    absl::StatusOr<std::string> key =
        Hkdf(secret, cookie_name,
             absl::StrCat("Auth.js Generated Encryption Key (", ToAbsl(cookie_name), ")"), 64);
    plain = key.ok() ? DecryptCbcHs512(*key, iv, ciphertext, tag, aad) : key.status();
  } else {
    return absl::UnauthenticatedError(
        absl::StrCat("unsupported session token encryption ", std::string(enc->as_string())));
  }
  if (!plain.ok()) {
    return plain.status();
  }
  json::value claims = json::parse(*plain, ec);
  if (ec || !claims.is_object()) {
    return absl::UnauthenticatedError("malformed session token: payload is not JSON");
  }
  return std::move(claims.as_object());
}

}  // namespace roomcast::auth
