#pragma once

#include <string_view>

namespace roomcast::observe {

// Sets up the process logger (spdlog on stdout): `format` is "text" or
// "json" (one JSON object per line); `level` as spdlog names it.
void InitLogging(std::string_view format, std::string_view level);

}  // namespace roomcast::observe
