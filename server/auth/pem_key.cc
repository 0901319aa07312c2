#include "server/auth/pem_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

namespace roomcast::auth {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bignum = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

// A big-endian unsigned parameter, left-padded to `width` bytes (0: as is).
std::vector<uint8_t> Param(const EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return {};
  }
  Bignum number(raw, BN_free);
  std::vector<uint8_t> bytes(width > 0 ? width : BN_num_bytes(number.get()));
  if (BN_bn2binpad(number.get(), bytes.data(), static_cast<int>(bytes.size())) < 0) {
    return {};
  }
  return bytes;
}

}  // namespace

absl::StatusOr<JwkHandle> PublicJwkFromPem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr,
           EVP_PKEY_free);
  if (!key) {
    return absl::InvalidArgumentError("the JWT public key is not a PEM public key");
  }
  cjose_err err{};
  JwkHandle jwk;
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    std::vector<uint8_t> n = Param(key.get(), OSSL_PKEY_PARAM_RSA_N);
    std::vector<uint8_t> e = Param(key.get(), OSSL_PKEY_PARAM_RSA_E);
    cjose_jwk_rsa_keyspec spec{};
    spec.n = n.data();
    spec.nlen = n.size();
    spec.e = e.data();
    spec.elen = e.size();
    jwk.reset(n.empty() || e.empty() ? nullptr : cjose_jwk_create_RSA_spec(&spec, &err));
  } else if (EVP_PKEY_is_a(key.get(), "EC")) {
    char group[64] = {};
    size_t group_length = 0;
    EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                   &group_length);
    const std::string name(group, group_length);
    cjose_jwk_ec_keyspec spec{};
    int width = 0;
    if (name == "prime256v1" || name == "P-256") {
      spec.crv = CJOSE_JWK_EC_P_256;
      width = 32;
    } else if (name == "secp384r1" || name == "P-384") {
      spec.crv = CJOSE_JWK_EC_P_384;
      width = 48;
    } else if (name == "secp521r1" || name == "P-521") {
      spec.crv = CJOSE_JWK_EC_P_521;
      width = 66;
    } else {
      return absl::InvalidArgumentError(
          "the JWT public key is on a curve JWS does not use (P-256, P-384, P-521)");
    }
    std::vector<uint8_t> x = Param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, width);
    std::vector<uint8_t> y = Param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, width);
    spec.x = x.data();
    spec.xlen = x.size();
    spec.y = y.data();
    spec.ylen = y.size();
    jwk.reset(x.empty() || y.empty() ? nullptr : cjose_jwk_create_EC_spec(&spec, &err));
  } else {
    return absl::InvalidArgumentError("the JWT public key is neither RSA nor EC");
  }
  if (!jwk) {
    return CjoseError("the JWT public key does not load", err);
  }
  return jwk;
}

}  // namespace roomcast::auth
