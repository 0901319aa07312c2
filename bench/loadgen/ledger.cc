#include "bench/loadgen/ledger.h"

#include <algorithm>

namespace roomcast::bench {

namespace {
constexpr size_t kLatencyBuckets = 2'000'000;
}

Ledger::Ledger(int streams, int clients, uint64_t window)
    : window_bits_(std::max<uint64_t>(64, (window + 63) / 64 * 64)),
      next_sequence_(new std::atomic<uint64_t>[std::max(streams, 1)]),
      windows_(std::max(clients, 1)),
      latency_us_(kLatencyBuckets, 0) {
  for (int i = 0; i < std::max(streams, 1); ++i) next_sequence_[i] = 0;
  for (Window& w : windows_) w.seen.assign(window_bits_ / 64, 0);
}

uint64_t Ledger::NextSequence(int stream) {
  return next_sequence_[stream].fetch_add(1, std::memory_order_relaxed);
}

void Ledger::Deliver(int client, uint64_t sequence, int64_t latency_ns) {
  if (!Record(windows_[client], sequence)) {
    duplicated_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  unique_.fetch_add(1, std::memory_order_relaxed);
  latency_ns = std::max<int64_t>(latency_ns, 0);
  max_latency_ns_ = std::max(max_latency_ns_, latency_ns);
  size_t bucket = std::min<size_t>(latency_ns / 1000, kLatencyBuckets - 1);
  ++latency_us_[bucket];
}

bool Ledger::Record(Window& window, uint64_t sequence) {
  const uint64_t size = window_bits_;
  if (sequence < window.base) {
    return false;
  }
  if (sequence >= window.base + size) {
    // Far ahead (the ones in between were lost or are very late): slide.
    uint64_t new_base = sequence - size + 1;
    if (new_base - window.base >= size) {
      std::fill(window.seen.begin(), window.seen.end(), 0);
    } else {
      for (uint64_t s = window.base; s < new_base; ++s) window.reset(s % size);
    }
    window.base = new_base;
  }
  if (window.test(sequence % size)) {
    return false;
  }
  window.set(sequence % size);
  while (window.test(window.base % size)) {
    window.reset(window.base % size);
    ++window.base;
  }
  return true;
}

LatencySummary Ledger::Latency() const {
  LatencySummary summary;
  for (uint32_t count : latency_us_) summary.samples += count;
  if (summary.samples == 0) {
    return summary;
  }
  auto percentile = [&](double p) {
    uint64_t rank = static_cast<uint64_t>(p * static_cast<double>(summary.samples - 1)) + 1;
    uint64_t seen = 0;
    for (size_t us = 0; us < latency_us_.size(); ++us) {
      seen += latency_us_[us];
      if (seen >= rank) return static_cast<double>(us);
    }
    return static_cast<double>(latency_us_.size());
  };
  summary.p50 = percentile(0.50);
  summary.p90 = percentile(0.90);
  summary.p99 = percentile(0.99);
  summary.max = static_cast<double>(max_latency_ns_) / 1000.0;
  return summary;
}

}  // namespace roomcast::bench
