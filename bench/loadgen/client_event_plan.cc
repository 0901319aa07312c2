#include "bench/loadgen/client_event_plan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <utility>

namespace roomcast::bench {

namespace {

// `42<id>["<event>",{"s":<seq>,"p":""}]` without the padding, with ids and
// sequence numbers of a few digits.
constexpr int kFrameOverhead = 30;

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

ClientEventPlan::ClientEventPlan(ClientEventSettings settings, Ledger& ledger,
                                 std::chrono::steady_clock::duration window)
    : settings_(std::move(settings)),
      ledger_(ledger),
      start_ns_(NowNs()),
      deadline_ns_(start_ns_ +
                   std::chrono::duration_cast<std::chrono::nanoseconds>(window).count()),
      padding_(std::max(0, settings_.payload_bytes - kFrameOverhead -
                               static_cast<int>(settings_.event.size())),
               'x') {}

int ClientEventPlan::Due(int64_t now_ns, int cap) const {
  if (now_ns >= deadline_ns_) return 0;
  int64_t due = 0;
  if (settings_.rate > 0) {
    // Event i is due at start + i / rate; the last one due before the deadline.
    const double per_ns = settings_.rate / 1e9;
    const auto total = static_cast<int64_t>(std::ceil((deadline_ns_ - start_ns_) * per_ns));
    const auto by_now = static_cast<int64_t>((now_ns - start_ns_) * per_ns) + 1;
    due = std::min(total, by_now) - issued_;
  } else if (settings_.ack) {
    due = settings_.max_in_flight - ledger_.Outstanding();
  } else {
    due = cap;  // Bounded by the sockets: one write waiting each at most.
  }
  return static_cast<int>(std::clamp<int64_t>(due, 0, cap));
}

int64_t ClientEventPlan::WaitNs(int64_t now_ns) const {
  if (settings_.rate <= 0) return settings_.ack ? -1 : 0;  // No ack will wake the fleet.
  const auto next_ns =
      start_ns_ + static_cast<int64_t>(static_cast<double>(issued_) * 1e9 / settings_.rate);
  return std::max<int64_t>(0, next_ns - now_ns);
}

std::string ClientEventPlan::Make(int client, int64_t now_ns) {
  const uint64_t sequence = ledger_.NextSequence(client);
  const uint64_t ack_id = sequence + 1;
  std::string text = "42" + (settings_.ack ? std::to_string(ack_id) : "") + "[\"" +
                     settings_.event + "\",{\"s\":" + std::to_string(sequence) + ",\"p\":\"" +
                     padding_ + "\"}]";
  ++issued_;
  Bump(sent_);
  if (!settings_.ack) return text;
  ledger_.Expect(1);
  sent_at_[Key(client, ack_id)] = now_ns;
  return text;
}

void ClientEventPlan::OnAck(int client, std::string_view packet, int64_t now_ns) {
  uint64_t ack_id = 0;
  const char* end = packet.data() + packet.size();
  auto [args, ec] = std::from_chars(packet.data() + 1, end, ack_id);
  auto it = ec == std::errc() ? sent_at_.find(Key(client, ack_id)) : sent_at_.end();
  if (it == sent_at_.end()) {
    Bump(unexpected_);
    return;
  }
  const int64_t sent_ns = it->second;
  sent_at_.erase(it);
  std::string_view rest(args, static_cast<size_t>(end - args));
  if (rest.find("\"ok\":false") == std::string_view::npos) {
    ledger_.Deliver(client, ack_id - 1, now_ns - sent_ns);
    Bump(acked_);
    return;
  }
  // An error ack owes nothing more; it is counted by its code.
  ledger_.Expect(-1);
  constexpr std::string_view kCode = "\"code\":\"";
  std::string_view code;
  if (size_t at = rest.find(kCode); at != std::string_view::npos) {
    code = rest.substr(at + kCode.size());
    code = code.substr(0, code.find('"'));
  }
  if (code == "timeout") {
    Bump(timeout_);
  } else if (code == "unavailable") {
    Bump(unavailable_);
  } else if (code == "limit") {
    Bump(limit_);
  } else {
    Bump(other_error_);
  }
}

ClientEventCounts ClientEventPlan::Counts() const {
  auto load = [](const std::atomic<int64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  ClientEventCounts counts;
  // Answers first: read after them, `sent` is never below what they add up to.
  counts.acked = load(acked_);
  counts.timeout = load(timeout_);
  counts.unavailable = load(unavailable_);
  counts.limit = load(limit_);
  counts.other_error = load(other_error_);
  counts.unexpected = load(unexpected_);
  counts.sent = load(sent_);
  return counts;
}

}  // namespace roomcast::bench
