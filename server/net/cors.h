#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::net {

// Which browser origins may use an Engine.IO endpoint, and what the CORS
// response headers say to them.
class CorsPolicy {
 public:
  // `*`: any origin, answered with a literal `*` (no credentials), as the
  // `cors` npm package does for `origin: "*"`.
  static CorsPolicy Wildcard() { return CorsPolicy(Mode::kWildcard, {}); }
  // Any origin, echoed back with credentials allowed (development default).
  static CorsPolicy ReflectAny() { return CorsPolicy(Mode::kReflectAny, {}); }
  static CorsPolicy Only(std::vector<std::string> origins) {
    return CorsPolicy(Mode::kList, std::move(origins));
  }
  // "*" or a comma-separated list of origins.
  static CorsPolicy Parse(std::string_view spec);

  // Requests without an Origin header (not from a browser) are always allowed.
  bool Allows(std::optional<std::string_view> origin) const;
  // The Access-Control-Allow-Origin value for an allowed origin.
  std::string AllowOriginHeader(std::string_view origin) const;
  bool allow_credentials() const { return mode_ != Mode::kWildcard; }

 private:
  enum class Mode { kWildcard, kReflectAny, kList };
  CorsPolicy(Mode mode, std::vector<std::string> origins)
      : mode_(mode), origins_(std::move(origins)) {}

  Mode mode_;
  std::vector<std::string> origins_;
};

}  // namespace roomcast::net
