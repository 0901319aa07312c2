#pragma once

#include <cjose/cjose.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace roomcast::auth {

// cjose objects own their memory (and jansson's): each handle releases its
// object, so no early return leaks one.
struct JwkRelease {
  void operator()(cjose_jwk_t* jwk) const { cjose_jwk_release(jwk); }
};
struct JwsRelease {
  void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};
struct JweRelease {
  void operator()(cjose_jwe_t* jwe) const { cjose_jwe_release(jwe); }
};
struct CjoseFree {
  void operator()(uint8_t* bytes) const { cjose_get_dealloc()(bytes); }
};

using JwkHandle = std::unique_ptr<cjose_jwk_t, JwkRelease>;
using JwsHandle = std::unique_ptr<cjose_jws_t, JwsRelease>;
using JweHandle = std::unique_ptr<cjose_jwe_t, JweRelease>;
using CjoseBytes = std::unique_ptr<uint8_t, CjoseFree>;

// Whether `text` holds only base64url characters and dots (compact JWS/JWE
// parts, JWK members). Checked before cjose decodes anything: cjose 0.6.2's
// decoder asserts (aborts the process) on a '=' after 4n+1 characters.
inline bool OnlyBase64UrlAndDots(std::string_view text) {
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// A cjose failure as a status: what we tried, then cjose's reason.
inline absl::Status CjoseError(std::string_view what, const cjose_err& err) {
  return absl::InvalidArgumentError(
      absl::StrCat(absl::string_view(what.data(), what.size()), " (",
                   err.message != nullptr ? err.message : "cjose failed", ")"));
}

}  // namespace roomcast::auth
