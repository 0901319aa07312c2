#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace roomcast::core {

inline constexpr size_t kMaxRoomNameBytes = 256;

// A room name is a non-empty string of at most kMaxRoomNameBytes bytes.
absl::Status ValidateRoomName(std::string_view room);

}  // namespace roomcast::core
