#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "server/base/counters.h"

namespace roomcast::observe {

struct LatencyQuantiles {
  uint64_t count = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
};

// The Prometheus view of the server: the core's counters, read at scrape
// time, plus the histograms kept in a prometheus-cpp registry.
class Metrics {
 public:
  explicit Metrics(const base::Counters& counters);

  void ObserveEmitLatency(std::chrono::steady_clock::duration latency);
  // Estimated from the histogram buckets (linear within a bucket).
  LatencyQuantiles EmitLatency() const;

  // The text exposition format, for GET /metrics.
  std::string Scrape() const;

 private:
  const base::Counters& counters_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* emit_latency_;
};

}  // namespace roomcast::observe
