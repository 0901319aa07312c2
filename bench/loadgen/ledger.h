#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace roomcast::bench {

// Latency percentiles of the deliveries, in microseconds.
struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  uint64_t samples = 0;
};

// The books of one run: what the emitters promised (expected deliveries),
// what the clients got (unique and duplicated, by sequence number per
// stream), and each delivery's latency. Emitters write from their threads;
// deliveries are recorded by the one client thread.
class Ledger {
 public:
  // `window` bounds how far out of order one client's events may arrive
  // and still count as late rather than duplicated (rounded up to 64).
  Ledger(int streams, int clients, uint64_t window);

  // Emitter side. A stream is a room (or the whole namespace).
  uint64_t NextSequence(int stream);
  void Expect(int64_t deliveries) { expected_.fetch_add(deliveries, std::memory_order_relaxed); }
  int64_t Outstanding() const { return expected() - delivered(); }

  // Client side (one thread).
  void Deliver(int client, uint64_t sequence, int64_t latency_ns);

  int64_t expected() const { return expected_.load(std::memory_order_relaxed); }
  int64_t delivered() const { return unique_.load(std::memory_order_relaxed); }
  int64_t duplicated() const { return duplicated_.load(std::memory_order_relaxed); }
  // Call when the client thread is quiet.
  LatencySummary Latency() const;

 private:
  // Sequence numbers a client has seen, as a sliding window: everything
  // below `base` was seen; bits mark what was seen at and above it.
  struct Window {
    uint64_t base = 0;
    std::vector<uint64_t> seen;
    bool test(uint64_t bit) const { return seen[bit / 64] >> (bit % 64) & 1; }
    void set(uint64_t bit) { seen[bit / 64] |= uint64_t{1} << (bit % 64); }
    void reset(uint64_t bit) { seen[bit / 64] &= ~(uint64_t{1} << (bit % 64)); }
  };
  bool Record(Window& window, uint64_t sequence);

  uint64_t window_bits_;
  std::unique_ptr<std::atomic<uint64_t>[]> next_sequence_;
  std::vector<Window> windows_;
  std::atomic<int64_t> expected_{0};
  std::atomic<int64_t> unique_{0};
  std::atomic<int64_t> duplicated_{0};
  // One bucket per microsecond up to 2 s; beyond lands in the last.
  std::vector<uint32_t> latency_us_;
  int64_t max_latency_ns_ = 0;
};

}  // namespace roomcast::bench
