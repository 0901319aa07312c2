#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace roomcast {

// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so views cross between the two explicitly, here.
inline absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }
inline std::string_view ToStd(absl::string_view text) { return {text.data(), text.size()}; }

}  // namespace roomcast
