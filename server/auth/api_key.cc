#include "server/auth/api_key.h"

#include <openssl/crypto.h>

namespace roomcast::auth {

bool ApiKey::Matches(std::string_view candidate) const {
  return candidate.size() == key_.size() &&
         CRYPTO_memcmp(candidate.data(), key_.data(), key_.size()) == 0;
}

bool ApiKey::Accepts(std::optional<std::string_view> authorization,
                     std::optional<std::string_view> x_api_key) const {
  if (!required()) {
    return true;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization && authorization->starts_with(kBearer) &&
      Matches(authorization->substr(kBearer.size()))) {
    return true;
  }
  return x_api_key && Matches(*x_api_key);
}

}  // namespace roomcast::auth
