#include "server/net/cors.h"
#include "server/base/string_view.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace roomcast::net {

CorsPolicy CorsPolicy::Parse(std::string_view spec) {
  std::vector<std::string> origins;
  for (absl::string_view origin : absl::StrSplit(ToAbsl(spec), ',', absl::SkipWhitespace())) {
    origin = absl::StripAsciiWhitespace(origin);
    if (origin == "*") {
      return Wildcard();
    }
    origins.emplace_back(absl::StripSuffix(origin, "/"));
  }
  return Only(std::move(origins));
}

bool CorsPolicy::Allows(std::optional<std::string_view> origin) const {
  if (!origin || mode_ != Mode::kList) {
    return true;
  }
  return std::find(origins_.begin(), origins_.end(), *origin) != origins_.end();
}

std::string CorsPolicy::AllowOriginHeader(std::string_view origin) const {
  return mode_ == Mode::kWildcard ? "*" : std::string(origin);
}

}  // namespace roomcast::net
