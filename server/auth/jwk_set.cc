#include "server/auth/jwk_set.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/auth/cjose_handles.h"
#include "server/base/string_view.h"

namespace roomcast::auth {
namespace {

namespace json = boost::json;

std::string_view StringMember(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                : std::string_view();
}

cjose_jwk_ec_curve CurveFor(std::string_view alg) {
  if (alg == "ES256") {
    return CJOSE_JWK_EC_P_256;
  }
  if (alg == "ES384") {
    return CJOSE_JWK_EC_P_384;
  }
  if (alg == "ES512") {
    return CJOSE_JWK_EC_P_521;
  }
  return CJOSE_JWK_EC_INVALID;
}

}  // namespace

bool AlgorithmFitsKey(std::string_view alg, const cjose_jwk_t& jwk) {
  cjose_err err{};
  const cjose_jwk_kty_t kty = cjose_jwk_get_kty(&jwk, &err);
  if (alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "PS256" || alg == "PS384" ||
      alg == "PS512") {
    return kty == CJOSE_JWK_KTY_RSA;
  }
  const cjose_jwk_ec_curve curve = CurveFor(alg);
  return curve != CJOSE_JWK_EC_INVALID && kty == CJOSE_JWK_KTY_EC &&
         cjose_jwk_EC_get_curve(&jwk, &err) == curve;
}

absl::StatusOr<std::shared_ptr<const JwkSet>> JwkSet::Parse(std::string_view document) {
  boost::system::error_code ec;
  json::value parsed = json::parse(document, ec);
  const json::object* root = ec ? nullptr : parsed.if_object();
  const json::value* keys = root != nullptr ? root->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return absl::InvalidArgumentError("not a JWKS document: no \"keys\" array");
  }
  std::shared_ptr<JwkSet> set(new JwkSet());
  std::vector<std::string> skipped;
  for (const json::value& entry : keys->as_array()) {
    const json::object* key = entry.if_object();
    if (key == nullptr) {
      return absl::InvalidArgumentError("not a JWKS document: a key is not an object");
    }
    const std::string_view kid = StringMember(*key, "kid");
    const std::string_view kty = StringMember(*key, "kty");
    const std::string_view use = StringMember(*key, "use");
    if (kid.empty() || (kty != "RSA" && kty != "EC") || (!use.empty() && use != "sig")) {
      continue;  // Not for us: HS keys come from JWT_SECRET; encryption keys never sign.
    }
    if (set->size_ == kMaxKeys) {
      return absl::InvalidArgumentError(absl::StrCat("JWKS holds more than ", kMaxKeys, " keys"));
    }
    // Only the public members, checked: never a private key, and nothing
    // cjose's decoder would choke on.
    json::object material{{"kty", kty}};
    bool usable = true;
    static constexpr std::array<std::string_view, 3> kRsa = {"n", "e", ""};
    static constexpr std::array<std::string_view, 3> kEc = {"crv", "x", "y"};
    for (const std::string_view name : kty == "RSA" ? kRsa : kEc) {
      if (name.empty()) {
        continue;
      }
      const std::string_view value = StringMember(*key, name);
      usable = usable && !value.empty() && (name == "crv" || OnlyBase64UrlAndDots(value));
      material[name] = value;
    }
    if (!usable) {
      skipped.emplace_back(kid);
      continue;
    }
    const std::string text = json::serialize(material);
    cjose_err err{};
    std::shared_ptr<cjose_jwk_t> jwk(cjose_jwk_import(text.data(), text.size(), &err),
                                     JwkRelease());
    if (!jwk) {
      skipped.emplace_back(kid);  // A curve or size cjose lacks: the others still serve.
      continue;
    }
    set->keys_[std::string(kid)].push_back(
        Key{std::string(StringMember(*key, "alg")), std::move(jwk)});
    ++set->size_;
  }
  if (set->size_ == 0) {
    return absl::InvalidArgumentError(
        skipped.empty() ? "JWKS holds no RSA or EC signature key with a kid"
                        : absl::StrCat("JWKS keys do not import: ", skipped.front()));
  }
  return std::shared_ptr<const JwkSet>(std::move(set));
}

absl::StatusOr<const cjose_jwk_t*> JwkSet::Find(std::string_view kid, std::string_view alg) const {
  auto it = keys_.find(ToAbsl(kid));
  if (it == keys_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown key id ", ToAbsl(kid)));
  }
  for (const Key& key : it->second) {
    if ((key.alg.empty() || key.alg == alg) && AlgorithmFitsKey(alg, *key.jwk)) {
      return key.jwk.get();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("algorithm ", ToAbsl(alg), " does not fit key ", ToAbsl(kid)));
}

std::vector<std::string> JwkSet::kids() const {
  std::vector<std::string> kids;
  for (const auto& [kid, keys] : keys_) {
    kids.push_back(kid);
  }
  std::sort(kids.begin(), kids.end());
  return kids;
}

}  // namespace roomcast::auth
