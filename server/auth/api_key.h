#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roomcast::auth {

// The internal API key services present on control calls, as
// `authorization: Bearer <key>` or `x-api-key: <key>`.
class ApiKey {
 public:
  // An empty key means none is required.
  explicit ApiKey(std::string key) : key_(std::move(key)) {}

  bool required() const { return !key_.empty(); }
  // Compared in constant time, so timing does not reveal the key.
  bool Accepts(std::optional<std::string_view> authorization,
               std::optional<std::string_view> x_api_key) const;

 private:
  bool Matches(std::string_view candidate) const;
  std::string key_;
};

}  // namespace roomcast::auth
