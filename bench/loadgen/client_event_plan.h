#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bench/loadgen/ledger.h"

namespace roomcast::bench {

struct ClientEventSettings {
  std::string event = "bench:ask";
  double rate = 0;            // events/s over the whole fleet; 0 = flat out
  int64_t max_in_flight = 0;  // flat out: no new event while this many wait for their ack
  int payload_bytes = 150;    // the Socket.IO frame's size, roughly
  // false: `socket.emit(event, data)` with no callback, flat out (each socket
  // sends once its last write left): what reaches the service is counted there.
  bool ack = true;
};

// What came back, by kind. Error acks are {"ok":false,"error":{"code":...}}.
struct ClientEventCounts {
  int64_t sent = 0;
  int64_t acked = 0;  // ok acks
  int64_t timeout = 0;
  int64_t unavailable = 0;
  int64_t limit = 0;
  int64_t other_error = 0;
  int64_t unexpected = 0;  // acks of no event in flight (a second ack, a wrong id)
  int64_t errors() const { return timeout + unavailable + limit + other_error; }
  int64_t unanswered() const { return sent - acked - errors(); }
};

// Browser -> service traffic: the fleet's sockets emit an event with an ack
// callback, as `socket.emit(event, data, cb)` does, at a fixed total rate or
// flat out with a bound on acks owed (or, without acks, flat out). Each socket is a ledger stream
// of its own: its n-th event is sequence n, ack id n + 1 (0 was its join), and an ok ack is that
// sequence's delivery, its latency the round trip from writing the event to reading the ack.
// Everything but Counts() runs on the fleet's thread.
class ClientEventPlan {
 public:
  ClientEventPlan(ClientEventSettings settings, Ledger& ledger,
                  std::chrono::steady_clock::duration window);

  // How many events may go now, at most `cap`; 0 once the window is over.
  int Due(int64_t now_ns, int cap) const;
  // How long until the next is due (rate mode; 0 flat out without acks), -1
  // when that waits for acks.
  int64_t WaitNs(int64_t now_ns) const;
  // The Engine.IO message of socket `client`'s next event, sent at `now_ns`.
  std::string Make(int client, int64_t now_ns);
  // A Socket.IO ACK packet ("3<id>[...]") read by socket `client`.
  void OnAck(int client, std::string_view packet, int64_t now_ns);

  // Any thread.
  ClientEventCounts Counts() const;

 private:
  static uint64_t Key(int client, uint64_t ack_id) {
    return (static_cast<uint64_t>(client) << 32) | ack_id;
  }
  void Bump(std::atomic<int64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

  const ClientEventSettings settings_;
  Ledger& ledger_;
  const int64_t start_ns_;
  const int64_t deadline_ns_;
  const std::string padding_;
  int64_t issued_ = 0;
  std::unordered_map<uint64_t, int64_t> sent_at_;  // Key -> when it was written
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> timeout_{0};
  std::atomic<int64_t> unavailable_{0};
  std::atomic<int64_t> limit_{0};
  std::atomic<int64_t> other_error_{0};
  std::atomic<int64_t> unexpected_{0};
};

}  // namespace roomcast::bench
