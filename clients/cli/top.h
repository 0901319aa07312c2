#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "roomcast/v1/status.pb.h"

namespace roomcast::cli {

struct TopOptions {
  std::chrono::milliseconds interval{1000};
  int iterations = 0;    // Frames to show; 0: until q or Ctrl-C.
  bool cluster = false;  // Every node's sockets and rooms (from the cluster status).
  bool clear = true;     // ANSI clear/home before each frame (a terminal).
};

// One frame of `roomcast top` from two Status samples `seconds` apart:
// totals from `now`, rates from the counters' deltas.
std::string TopFrame(const v1::StatusResponse& before, const v1::StatusResponse& now,
                     double seconds, bool cluster);

// Samples `status` every interval and prints a frame, until q (read from a
// terminal on stdin, without echo), Ctrl-C or `iterations` frames.
absl::Status RunTop(const TopOptions& options,
                    const std::function<absl::StatusOr<v1::StatusResponse>()>& status);

}  // namespace roomcast::cli
