#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/ledger.h"

namespace roomcast::bench {

// One event about to be emitted: where it goes and its data, which carries
// its sequence number in its stream and its send time.
struct EmitItem {
  int stream = 0;
  std::string room;  // empty: the whole namespace
  std::string data_json;
  int64_t expected = 0;
};

struct EmitSettings {
  bool broadcast = false;
  int rooms = 1;
  double rate = 0;              // emits/s over all emitters; 0 = flat out
  int64_t max_undelivered = 0;  // flat out: wait while more are in flight
  int payload_bytes = 150;      // the Socket.IO frame's size, roughly
};

// What every emitter thread shares: the pace (a fixed rate, or flat out
// with a bound on undelivered events, so a server cannot look fast by
// piling up buffers), the sequence numbers and the books.
class EmitPlan {
 public:
  using Clock = std::chrono::steady_clock;

  EmitPlan(EmitSettings settings, Ledger& ledger, std::vector<int> readers_per_stream,
           Clock::duration window);

  // Blocks until the next emit may go; false once the window is over.
  bool Next();
  EmitItem Make();
  void Succeeded(int64_t count) { emitted_.fetch_add(count, std::memory_order_relaxed); }
  void Failed(const EmitItem& item);

  int64_t emitted() const { return emitted_.load(); }
  int64_t errors() const { return errors_.load(); }

 private:
  EmitSettings settings_;
  Ledger& ledger_;
  std::vector<int> readers_;
  Clock::time_point start_;
  Clock::time_point deadline_;
  std::string padding_;
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> next_stream_{0};
  std::atomic<int64_t> emitted_{0};
  std::atomic<int64_t> errors_{0};
};

}  // namespace roomcast::bench
