#pragma once

#include <cjose/cjose.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace roomcast::auth {

// Whether a token's `alg` may be verified with `jwk`: RS256/384/512 and
// PS256/384/512 with an RSA key, ES256/384/512 with an EC key on P-256,
// P-384, P-521. Never HS* (secrets come only from JWT_SECRET) nor `none`.
bool AlgorithmFitsKey(std::string_view alg, const cjose_jwk_t& jwk);

// The signature keys of a JWKS document (RFC 7517 §5), found by `kid`.
// Immutable once parsed, so verifiers on any thread share one.
class JwkSet {
 public:
  static constexpr size_t kMaxKeys = 64;

  // Keeps the RSA and EC keys that have a `kid` and are not for
  // encryption (`use` other than "sig"); skips `oct` keys and key types
  // cjose does not know. A document that is not a JWKS, or holds no key
  // it can use, is an error: a broken response must not empty the set.
  static absl::StatusOr<std::shared_ptr<const JwkSet>> Parse(std::string_view document);

  // The key to verify an `alg` token whose header names `kid`: NotFound
  // for a kid the set lacks, PermissionDenied when that key's type (or
  // its own `alg`) does not fit the token's.
  absl::StatusOr<const cjose_jwk_t*> Find(std::string_view kid, std::string_view alg) const;

  size_t size() const { return size_; }
  std::vector<std::string> kids() const;

 private:
  struct Key {
    std::string alg;  // The JWK's own `alg`, if it names one.
    std::shared_ptr<cjose_jwk_t> jwk;
  };

  JwkSet() = default;

  absl::flat_hash_map<std::string, std::vector<Key>> keys_;  // A kid may name an RSA and an EC key.
  size_t size_ = 0;
};

}  // namespace roomcast::auth
