#include "server/auth/jwt.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/base/string_view.h"

namespace roomcast::auth {
namespace {

namespace json = boost::json;

absl::StatusOr<json::object> DecodeJsonPart(std::string_view part, std::string_view what) {
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(ToAbsl(part), &bytes)) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed token: ", ToAbsl(what), " is not base64url"));
  }
  boost::system::error_code ec;
  json::value value = json::parse(bytes, ec);
  if (ec || !value.is_object()) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed token: ", ToAbsl(what), " is not a JSON object"));
  }
  return std::move(value.as_object());
}

// A time claim: absent, or a number (anything else is malformed).
absl::StatusOr<std::optional<double>> TimeClaim(const json::object& claims, std::string_view name) {
  const json::value* value = claims.if_contains(name);
  if (value == nullptr) {
    return std::optional<double>();
  }
  if (!value->is_number()) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed token: ", ToAbsl(name), " must be a number"));
  }
  return std::optional<double>(value->to_number<double>());
}

bool HmacMatches(std::string_view digest, const std::string& secret, std::string_view input,
                 std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, std::string(digest).c_str(), nullptr, secret.data(),
                secret.size(), reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                mac, sizeof(mac), &length) == nullptr) {
    return false;
  }
  return length == signature.size() && CRYPTO_memcmp(mac, signature.data(), length) == 0;
}

// JWS carries ES256 signatures as r || s; OpenSSL verifies DER.
std::string EcdsaToDer(std::string_view raw) {
  if (raw.size() != 64) {
    return {};
  }
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig, &der);
  std::string out = length > 0 ? std::string(reinterpret_cast<char*>(der), length) : std::string();
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

struct JwtVerifier::PublicKey {
  explicit PublicKey(EVP_PKEY* key) : key(key) {}
  ~PublicKey() { EVP_PKEY_free(key); }
  EVP_PKEY* key;
};

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(JwtConfig config) {
  std::unique_ptr<PublicKey> key;
  if (!config.public_key_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(config.public_key_pem.data(),
                               static_cast<int>(config.public_key_pem.size()));
    EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (pkey == nullptr) {
      return absl::InvalidArgumentError("the JWT public key is not a PEM public key");
    }
    key = std::make_unique<PublicKey>(pkey);
  }
  if (config.secret.empty() && !key) {
    return absl::InvalidArgumentError("JWT verification needs a secret or a public key");
  }
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(config), std::move(key)));
}

JwtVerifier::JwtVerifier(JwtConfig config, std::unique_ptr<PublicKey> key)
    : config_(std::move(config)), public_key_(std::move(key)) {}

JwtVerifier::~JwtVerifier() = default;

absl::StatusOr<Identity> JwtVerifier::Verify(std::string_view token,
                                             std::chrono::system_clock::time_point now) const {
  if (token.empty()) {
    return absl::UnauthenticatedError("missing token");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(token), '.');
  if (parts.size() != 3) {
    return absl::UnauthenticatedError("malformed token: expected three dot-separated parts");
  }
  absl::StatusOr<json::object> header = DecodeJsonPart(ToStd(parts[0]), "header");
  if (!header.ok()) {
    return header.status();
  }
  absl::StatusOr<json::object> claims = DecodeJsonPart(ToStd(parts[1]), "payload");
  if (!claims.ok()) {
    return claims.status();
  }
  std::string signature;
  if (!absl::WebSafeBase64Unescape(parts[2], &signature)) {
    return absl::UnauthenticatedError("malformed token: signature is not base64url");
  }
  const json::value* alg_value = header->if_contains("alg");
  const std::string alg = alg_value != nullptr && alg_value->is_string()
                              ? std::string(alg_value->as_string())
                              : std::string();
  const std::string_view input(token.data(), parts[0].size() + 1 + parts[1].size());

  bool valid = false;
  if (alg == "HS256" || alg == "HS384" || alg == "HS512") {
    if (config_.secret.empty()) {
      return absl::UnauthenticatedError(absl::StrCat("unsupported algorithm ", alg));
    }
    const std::string digest = absl::StrCat("SHA", alg.substr(2));
    valid = HmacMatches(digest, config_.secret, input, signature);
  } else if ((alg == "RS256" || alg == "ES256") && public_key_) {
    const std::string der = alg == "ES256" ? EcdsaToDer(signature) : signature;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    valid =
        EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, public_key_->key) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
  } else {
    return absl::UnauthenticatedError(
        absl::StrCat("unsupported algorithm ", alg.empty() ? "(none)" : alg));
  }
  if (!valid) {
    return absl::UnauthenticatedError("bad signature");
  }
  return CheckClaims(*std::move(claims), config_, now);
}

absl::StatusOr<Identity> CheckClaims(json::object claims, const JwtConfig& config,
                                     std::chrono::system_clock::time_point now) {
  const double seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(config.leeway.count());
  absl::StatusOr<std::optional<double>> exp = TimeClaim(claims, "exp");
  absl::StatusOr<std::optional<double>> nbf = TimeClaim(claims, "nbf");
  if (!exp.ok() || !nbf.ok()) {
    return exp.ok() ? nbf.status() : exp.status();
  }
  if (*exp && seconds > **exp + leeway) {
    return absl::UnauthenticatedError("token expired");
  }
  if (*nbf && seconds + leeway < **nbf) {
    return absl::UnauthenticatedError("token not yet valid");
  }
  if (!config.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->as_string() != config.issuer) {
      return absl::UnauthenticatedError("wrong issuer");
    }
  }
  if (!config.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    bool match = aud != nullptr && aud->is_string() && aud->as_string() == config.audience;
    if (aud != nullptr && aud->is_array()) {
      for (const json::value& item : aud->as_array()) {
        match = match || (item.is_string() && item.as_string() == config.audience);
      }
    }
    if (!match) {
      return absl::UnauthenticatedError("wrong audience");
    }
  }
  Identity identity;
  if (const json::value* sub = claims.if_contains("sub"); sub != nullptr && sub->is_string()) {
    identity.user_id = std::string(sub->as_string());
  }
  identity.claims = std::move(claims);
  return identity;
}

}  // namespace roomcast::auth
