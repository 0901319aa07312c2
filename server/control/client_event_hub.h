#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "roomcast/v1/roomcast.pb.h"
#include "server/base/counters.h"
#include "server/control/timer_thread.h"
#include "server/core/broker.h"
#include "server/core/client_event.h"

namespace roomcast::control {

namespace v1 = ::roomcast::v1;

// The far end of one ReceiveClientEvents stream.
class ClientEventConsumer {
 public:
  virtual ~ClientEventConsumer() = default;
  // From any thread, in order; never blocks (a consumer that cannot keep
  // up ends its own stream). False: the stream has ended, or ends now, and
  // did not take `event` (the caller reports it). Events it took but drops
  // when it ends go to ClientEventHub::Dropped.
  virtual bool Push(std::shared_ptr<const v1::ClientEvent> event) = 0;
  // Ends the stream with `status`.
  virtual void End(const absl::Status& status) = 0;
};

// What one stream asked for.
struct ClientEventFilter {
  std::string nsp = "/";
  absl::flat_hash_set<std::string> events;  // Empty: every event.
  std::string group;  // Never empty here: a lone stream has a group of its own.
  bool lifecycle = false;

  bool Accepts(const v1::ClientEvent& event) const;
};

class WebhookPoster;

// Where browsers' events meet the services' streams (DESIGN.md "events back
// from browsers"): each event goes to one stream of every group that asked
// for it, on this node or, over the broker, on another; else to the webhook;
// else the browser hears `unavailable` at once. The acks the browsers wait
// for are kept here until answered or timed out, and an ack made on any
// node finds its way back to the browser's.
class ClientEventHub final : public core::ClientEventSink {
 public:
  struct Options {
    std::string node_id;
    std::chrono::milliseconds ack_timeout{10000};
    // Whether there are other nodes to tell about this node's streams.
    bool cluster = false;
    // How often this node tells the others its streams; they forget a node
    // not heard from for three times as long.
    std::chrono::milliseconds announce_interval{2000};
  };
  struct Stats {
    uint64_t streams = 0;         // Open on this node.
    uint64_t remote_streams = 0;  // Open on the other nodes, as last heard.
    uint64_t pending_acks = 0;
  };

  // `webhook` may be null.
  ClientEventHub(Options options, core::Broker& broker, TimerThread& timers,
                 base::Counters& counters, WebhookPoster* webhook);
  ~ClientEventHub() override;
  ClientEventHub(const ClientEventHub&) = delete;
  ClientEventHub& operator=(const ClientEventHub&) = delete;

  // Starts telling the other nodes (once the broker runs).
  void Start();
  // Registers a stream: events `filter` accepts reach `consumer` until Remove.
  uint64_t Add(ClientEventFilter filter, std::shared_ptr<ClientEventConsumer> consumer);
  void Remove(uint64_t handle);

  void Offer(core::ClientEvent event, core::ClientAckDone done) override;
  bool WantsPresence(std::string_view nsp) const override;

  // A service's answer to event `id`: OK; NOT_FOUND (unknown, expired, or
  // no ack wanted); FAILED_PRECONDITION (already answered). `done` runs on
  // any thread.
  void Ack(const std::string& id, std::string args_json,
           absl::AnyInvocable<void(absl::Status) &&> done);

  // An event a stream had taken but dropped when it ended (cut, cancelled,
  // draining): the browser's node hears no copy of it arrived.
  void Dropped(const v1::ClientEvent& event);

  // SIGTERM: every stream ends with UNAVAILABLE, every browser still waiting
  // hears `unavailable`, and what comes later is refused the same way.
  void Drain();

  // Requests from other nodes: those whose method Handles.
  static bool Handles(std::string_view method);
  void AnswerNode(std::string_view method, std::string body,
                  absl::AnyInvocable<void(std::string) &&> answer);

  Stats stats() const;
  bool draining() const;

 private:
  struct Stream {
    uint64_t handle = 0;
    ClientEventFilter filter;
    std::shared_ptr<ClientEventConsumer> consumer;
  };
  // Streams of another node, grouped by what they asked for.
  struct RemoteStreams {
    ClientEventFilter filter;
    uint64_t count = 0;
  };
  struct RemoteNode {
    std::vector<RemoteStreams> streams;
    TimerThread::Clock::time_point heard;
  };
  // Where one group's copy of an event goes.
  struct Target {
    std::shared_ptr<ClientEventConsumer> local;
    std::string node;  // Else this node.
    std::string group;
  };
  struct Pending {
    core::ClientAckDone done;  // Null once answered.
    int deliveries = 0;        // Not yet known to have failed.
  };

  // The stream of each group accepting `event`; under `mutex_`.
  std::vector<Target> Route(const v1::ClientEvent& event);
  void Forward(const Target& target, const std::shared_ptr<const v1::ClientEvent>& event);
  // A copy that did not arrive: with none left, the browser hears why.
  void Undelivered(const std::string& id);
  void Expire(const std::string& id);
  // Answers event `id` here; the outcome for the acking service.
  absl::Status Complete(const std::string& id, absl::StatusOr<std::string> args_json);
  std::string Registrations() const;
  void Heard(std::string_view registrations);
  void Announce();
  void ScheduleAnnounce();
  std::string NewEventId();

  const Options options_;
  core::Broker& broker_;
  TimerThread& timers_;
  base::Counters& counters_;
  WebhookPoster* webhook_;

  mutable std::mutex mutex_;
  bool draining_ = false;
  uint64_t next_handle_ = 0;
  uint64_t next_event_ = 0;
  std::vector<Stream> streams_;
  absl::flat_hash_map<std::string, RemoteNode> remote_;
  absl::flat_hash_map<std::string, uint64_t> next_in_group_;  // Round robin.
  absl::flat_hash_map<std::string, Pending> pending_;
  // Local and remote streams that follow presence (any namespace).
  std::atomic<uint64_t> presence_streams_{0};
};

}  // namespace roomcast::control
