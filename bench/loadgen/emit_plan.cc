#include "bench/loadgen/emit_plan.h"

#include <ctime>
#include <thread>

namespace roomcast::bench {

namespace {

// `42["bench",` + data + `]` around the data; the data without padding is
// about this long with realistic numbers.
constexpr int kFrameOverhead = 11;
constexpr int kBareDataBytes = 48;

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

EmitPlan::EmitPlan(EmitSettings settings, Ledger& ledger, std::vector<int> readers_per_stream,
                   Clock::duration window)
    : settings_(settings),
      ledger_(ledger),
      readers_(std::move(readers_per_stream)),
      start_(Clock::now()),
      deadline_(start_ + window),
      padding_(std::max(0, settings.payload_bytes - kFrameOverhead - kBareDataBytes), 'x') {}

bool EmitPlan::Next() {
  if (settings_.rate > 0) {
    uint64_t i = issued_.fetch_add(1, std::memory_order_relaxed);
    auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(i) / settings_.rate));
    if (due >= deadline_) return false;
    std::this_thread::sleep_until(due);
    return true;
  }
  while (ledger_.Outstanding() > settings_.max_undelivered) {
    if (Clock::now() >= deadline_) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return Clock::now() < deadline_;
}

EmitItem EmitPlan::Make() {
  EmitItem item;
  item.stream = settings_.broadcast
                    ? 0
                    : static_cast<int>(next_stream_.fetch_add(1, std::memory_order_relaxed) %
                                       static_cast<uint64_t>(settings_.rooms));
  if (!settings_.broadcast) item.room = "room-" + std::to_string(item.stream);
  uint64_t sequence = ledger_.NextSequence(item.stream);
  item.data_json = "{\"t\":" + std::to_string(NowNs()) + ",\"s\":" + std::to_string(sequence) +
                   ",\"r\":" + std::to_string(item.stream) + ",\"p\":\"" + padding_ + "\"}";
  item.expected = readers_[item.stream];
  ledger_.Expect(item.expected);
  return item;
}

void EmitPlan::Failed(const EmitItem& item) {
  ledger_.Expect(-item.expected);
  errors_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace roomcast::bench
