#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/loadgen/ledger.h"
#include "bench/loadgen/target.h"

namespace roomcast::bench {

class ClientEventPlan;

struct FleetOptions {
  std::vector<Target> targets;  // client i connects to targets[i % targets.size()]
  int connections = 0;
  int rooms = 1;
  int sources = 1;                // 127.0.0.1 .. 127.0.0.<sources>
  double slow_fraction = 0;       // these clients stop reading once joined
  bool broadcast = false;         // every client reads stream 0
  int connect_concurrency = 256;  // handshakes in flight at once
};

// N Socket.IO clients over WebSocket on one epoll thread, doing what
// socket.io-client does on the wire: the upgrade, the Engine.IO open, the
// Socket.IO CONNECT, a `join` with an ack, pongs to pings; then every
// event's sequence number and send timestamp go to the ledger. Driven by a
// ClientEventPlan, the sockets also emit events with an ack callback.
class ClientFleet {
 public:
  ClientFleet(FleetOptions options, Ledger& ledger);
  ~ClientFleet();

  void Start();
  void Stop();
  // From now on the joined sockets emit what `plan` says is due, in turn
  // (nullptr: no more). The plan must outlive Stop() or the next Drive().
  void Drive(ClientEventPlan* plan) { plan_.store(plan, std::memory_order_release); }

  int joined() const { return joined_.load(); }
  int failed() const { return failed_.load(); }
  // Joined clients the server closed later.
  int dropped() const { return dropped_.load(); }
  bool settled() const { return joined() + failed() >= options_.connections; }
  // Readers (not slow) that joined each stream; valid once settled.
  const std::vector<int>& readers_per_stream() const { return readers_per_stream_; }
  int stream_of(int client) const { return options_.broadcast ? 0 : client % options_.rooms; }
  const Target& target_of(int client) const {
    return options_.targets[static_cast<size_t>(client) % options_.targets.size()];
  }

 private:
  enum class State : uint8_t {
    kConnecting,
    kUpgrading,
    kOpening,
    kConnectingSocket,
    kJoining,
    kReady,
    kClosed
  };
  struct Client {
    int fd = -1;
    State state = State::kConnecting;
    bool slow = false;
    bool watching_out = true;  // EPOLLOUT in the interest set
    std::string pending;       // bytes of an incomplete frame (or the HTTP response)
    std::string message;       // a fragmented message being put together
    std::string unsent;        // our own frames the socket did not take yet
  };

  void Loop();
  void OpenNext();
  void OnEvent(int index, uint32_t events);
  void OnReadable(int index);
  // Consumes whole frames of `data`; returns the bytes used.
  size_t ConsumeFrames(int index, std::string_view data);
  size_t ConsumeHandshake(int index, std::string_view data);
  void OnMessage(int index, std::string_view message);
  void OnSocketIo(int index, std::string_view packet);
  void SendText(int index, std::string_view text);
  void SendFrame(int index, uint8_t opcode, std::string_view payload);
  void Flush(int index);
  void Fail(int index);
  void Joined(int index);
  // Emits the events the plan has due; returns how long epoll may wait (ms).
  int SendClientEvents(ClientEventPlan& plan);
  // The next joined reader after the last one that emitted, -1 if none.
  int NextSender();

  FleetOptions options_;
  Ledger& ledger_;
  int epoll_fd_ = -1;
  std::vector<Client> clients_;
  std::vector<int> readers_per_stream_;
  std::vector<char> scratch_;
  int next_to_open_ = 0;
  int last_sender_ = -1;
  int in_flight_ = 0;
  std::atomic<int> joined_{0};
  std::atomic<int> failed_{0};
  std::atomic<int> dropped_{0};
  std::atomic<bool> stop_{false};
  std::atomic<ClientEventPlan*> plan_{nullptr};
  std::thread thread_;
};

}  // namespace roomcast::bench
