#pragma once

#include <chrono>
#include <cstdint>

namespace roomcast::base {

// Wall-clock time as Unix milliseconds: what events, sessions and
// heartbeats carry between processes.
inline int64_t UnixMillis(
    std::chrono::system_clock::time_point time = std::chrono::system_clock::now()) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace roomcast::base
