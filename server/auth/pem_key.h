#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "server/auth/cjose_handles.h"

namespace roomcast::auth {

// A PEM public key (ROOMCAST_JWT_PUBLIC_KEY_FILE: RSA, or EC on P-256,
// P-384, P-521) as the JWK cjose verifies with.
absl::StatusOr<JwkHandle> PublicJwkFromPem(std::string_view pem);

}  // namespace roomcast::auth
