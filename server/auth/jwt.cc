#include "server/auth/jwt.h"

#include <algorithm>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/auth/pem_key.h"
#include "server/base/string_view.h"

namespace roomcast::auth {
namespace {

namespace json = boost::json;

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

bool IsHmac(std::string_view alg) { return alg == "HS256" || alg == "HS384" || alg == "HS512"; }

bool IsAsymmetric(std::string_view alg) {
  return alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "PS256" || alg == "PS384" ||
         alg == "PS512" || alg == "ES256" || alg == "ES384" || alg == "ES512";
}

absl::Status Unsupported(std::string_view alg) {
  return absl::UnauthenticatedError(
      absl::StrCat("unsupported algorithm ", alg.empty() ? "(none)" : ToAbsl(alg)));
}

std::string_view HeaderField(cjose_header_t* header, const char* name) {
  cjose_err err{};
  const char* value = header != nullptr ? cjose_header_get(header, name, &err) : nullptr;
  return value != nullptr ? std::string_view(value) : std::string_view();
}

}  // namespace

// The key a token verifies with, and the JWKS set that owns it (if any).
struct JwtVerifier::Key {
  const cjose_jwk_t* jwk = nullptr;
  std::shared_ptr<const JwkSet> owner;
};

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(JwtConfig config,
                                                                 std::shared_ptr<JwksKeys> jwks) {
  cjose_err err{};
  JwkHandle secret;
  if (!config.secret.empty()) {
    secret.reset(cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(config.secret.data()),
                                           config.secret.size(), &err));
    if (!secret) {
      return CjoseError("the JWT secret does not make a key", err);
    }
  }
  JwkHandle public_key;
  if (!config.public_key_pem.empty()) {
    absl::StatusOr<JwkHandle> key = PublicJwkFromPem(config.public_key_pem);
    if (!key.ok()) {
      return key.status();
    }
    public_key = *std::move(key);
  }
  if (!secret && !public_key && !jwks) {
    return absl::InvalidArgumentError("JWT verification needs a secret, a public key or a JWKS");
  }
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(config), std::move(secret),
                                                      std::move(public_key), std::move(jwks)));
}

JwtVerifier::JwtVerifier(JwtConfig config, JwkHandle secret, JwkHandle public_key,
                         std::shared_ptr<JwksKeys> jwks)
    : config_(std::move(config)),
      secret_(std::move(secret)),
      public_key_(std::move(public_key)),
      jwks_(std::move(jwks)) {}

JwtVerifier::~JwtVerifier() = default;

absl::StatusOr<JwtVerifier::Key> JwtVerifier::KeyFor(std::string_view alg,
                                                     std::string_view kid) const {
  if (IsHmac(alg)) {
    // Never a JWKS or PEM key: an HMAC "signed" with a public key is forged.
    return secret_ ? absl::StatusOr<Key>(Key{secret_.get(), nullptr}) : Unsupported(alg);
  }
  if (!IsAsymmetric(alg)) {
    return Unsupported(alg);  // `none` among them.
  }
  if (jwks_ && (!kid.empty() || !public_key_)) {
    std::shared_ptr<const JwkSet> keys = jwks_->current();
    if (!keys) {
      const JwksKeys::State state = jwks_->state();
      return absl::UnauthenticatedError(
          absl::StrCat("no signing keys yet: the JWKS has not been fetched",
                       state.last_error.empty() ? "" : absl::StrCat(" (", state.last_error, ")")));
    }
    if (kid.empty()) {
      return absl::UnauthenticatedError("token has no kid: JWKS keys are chosen by kid");
    }
    absl::StatusOr<const cjose_jwk_t*> key = keys->Find(kid, alg);
    if (absl::IsNotFound(key.status())) {
      jwks_->RefetchForUnknownKid(std::chrono::steady_clock::now());  // Maybe a rotation.
    }
    if (!key.ok()) {
      return absl::UnauthenticatedError(key.status().message());
    }
    return Key{*key, std::move(keys)};
  }
  if (public_key_ && AlgorithmFitsKey(alg, *public_key_)) {
    return Key{public_key_.get(), nullptr};
  }
  return Unsupported(alg);
}

absl::StatusOr<Identity> JwtVerifier::Verify(std::string_view token,
                                             std::chrono::system_clock::time_point now) const {
  if (token.empty()) {
    return absl::UnauthenticatedError("missing token");
  }
  if (std::count(token.begin(), token.end(), '.') != 2) {
    return absl::UnauthenticatedError("malformed token: expected three dot-separated parts");
  }
  cjose_err err{};
  JwsHandle jws(OnlyBase64UrlAndDots(token) ? cjose_jws_import(token.data(), token.size(), &err)
                                            : nullptr);
  if (!jws) {
    return absl::UnauthenticatedError(
        "malformed token: not a JWS (base64url parts, a JSON header)");
  }
  cjose_header_t* header = cjose_jws_get_protected(jws.get());
  uint8_t* payload = nullptr;
  size_t payload_length = 0;
  boost::system::error_code ec;
  json::value claims;
  if (cjose_jws_get_plaintext(jws.get(), &payload, &payload_length, &err)) {
    claims =
        json::parse(std::string_view(reinterpret_cast<const char*>(payload), payload_length), ec);
  }
  if (payload == nullptr || ec || !claims.is_object()) {
    return absl::UnauthenticatedError("malformed token: payload is not a JSON object");
  }
  absl::StatusOr<Key> key = KeyFor(HeaderField(header, "alg"), HeaderField(header, "kid"));
  if (!key.ok()) {
    return key.status();
  }
  if (!cjose_jws_verify(jws.get(), key->jwk, &err)) {
    return absl::UnauthenticatedError("bad signature");
  }
  return CheckClaims(std::move(claims.as_object()), config_, now);
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
