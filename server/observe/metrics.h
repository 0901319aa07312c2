#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
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

  // A control call that passed the key check, by the key's name ("" when
  // no key is required) and the method; any thread.
  void CountControlCall(const std::string& key_name, std::string_view method);

  // The text exposition format, for GET /metrics.
  std::string Scrape() const;

 private:
  const base::Counters& counters_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* emit_latency_;
  prometheus::Family<prometheus::Counter>* control_calls_;
};

}  // namespace roomcast::observe
