#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::net {

// Which browser origins may use the Socket.IO endpoint.
class CorsPolicy {
 public:
  static CorsPolicy AnyOrigin() { return CorsPolicy(true, {}); }
  static CorsPolicy Only(std::vector<std::string> origins) {
    return CorsPolicy(false, std::move(origins));
  }
  // "*" means any origin; otherwise a comma-separated list.
  static CorsPolicy Parse(std::string_view spec);

  // Requests without an Origin header (not from a browser) are always allowed.
  bool Allows(std::optional<std::string_view> origin) const;
  bool any_origin() const { return any_; }

 private:
  CorsPolicy(bool any, std::vector<std::string> origins) : any_(any), origins_(std::move(origins)) {}
  bool any_;
  std::vector<std::string> origins_;
};

}  // namespace roomcast::net
