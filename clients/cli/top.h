#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "roomcast/v1/status.pb.h"

namespace roomcast::cli {

struct TopOptions {
  std::chrono::milliseconds interval{1000};
  int iterations = 0;    // Frames to show; 0: until q or Ctrl-C.
  bool cluster = false;  // Every node's sockets, rooms and rates (from the cluster status).
  bool clear = true;     // ANSI clear/home before each frame (a terminal).
};

// Each node's rates from the totals its Status entries carry. Other nodes'
// figures change only at their heartbeats (every few seconds), so a rate is
// taken between two different sample times and kept until the next one.
class ClusterRates {
 public:
  struct Rates {
    double emits = 0;
    double deliveries = 0;
    double drops = 0;
  };

  void Update(const v1::StatusResponse& status);
  Rates Of(const std::string& node_id) const;
  Rates Total() const;

 private:
  struct Seen {
    v1::NodeStatus last;
    Rates rates;
  };
  std::map<std::string, Seen> nodes_;
};

// One frame of `roomcast top` from two Status samples `seconds` apart:
// totals from `now`, rates from the counters' deltas; with `cluster`, every
// node and the cluster's rates.
std::string TopFrame(const v1::StatusResponse& before, const v1::StatusResponse& now,
                     double seconds, const ClusterRates* cluster);

// Samples `status` every interval and prints a frame, until q (read from a
// terminal on stdin, without echo), Ctrl-C or `iterations` frames.
absl::Status RunTop(const TopOptions& options,
                    const std::function<absl::StatusOr<v1::StatusResponse>()>& status);

}  // namespace roomcast::cli
