#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/core/event.h"
#include "server/core/event_store.h"
#include "server/core/room_command.h"

namespace roomcast::core {

// A node of the cluster as its last heartbeat described it.
struct NodeStatus {
  std::string id;
  std::string address;
  std::string version;
  uint64_t sockets = 0;
  uint64_t rooms = 0;
  uint64_t emits = 0;  // NodeLoad's totals, as of the last heartbeat.
  uint64_t deliveries = 0;
  uint64_t drops = 0;
  int64_t last_heartbeat_ms = 0;  // Unix time.

  static NodeStatus Named(std::string id, std::string version = "") {
    NodeStatus node;
    node.id = std::move(id);
    node.version = std::move(version);
    return node;
  }
};

// The node's own load, for its heartbeat.
struct NodeLoad {
  uint64_t sockets = 0;
  uint64_t rooms = 0;
  // Totals since the node started, for the cluster's rates.
  uint64_t emits = 0;
  uint64_t deliveries = 0;
  uint64_t drops = 0;
};

// Where an event becomes official: the broker has the log number it
// (centrifuge's Broker.Publish returning a StreamPosition is the model) and
// carries it to the other nodes. The emitting node delivers to its own
// sockets itself; what other nodes (or Socket.IO emitters) publish reaches
// the event handler, and their room commands the command handler.
class Broker {
 public:
  using PublishDone = absl::AnyInvocable<void(absl::StatusOr<Published>) &&>;
  using EventHandler = std::function<void(std::shared_ptr<const Event>)>;
  using CommandHandler = std::function<void(RoomCommand)>;
  using NodesDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<NodeStatus>>) &&>;
  // A request from another node, and how to answer it.
  using RequestHandler =
      std::function<void(std::string request, absl::AnyInvocable<void(std::string) &&> answer)>;
  using AnswersDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<std::string>>) &&>;
  // Which of this node's sockets match (for Socket.IO servers' fetchSockets).
  using FindHandler = std::function<void(std::string nsp, std::vector<std::string> targets,
                                         std::vector<std::string> except,
                                         absl::AnyInvocable<void(std::vector<SocketSummary>) &&>)>;
  struct Handlers {
    EventHandler on_event;
    CommandHandler on_command;
    RequestHandler on_request;
    FindHandler on_find;
  };
  using LoadProbe = std::function<void(absl::AnyInvocable<void(NodeLoad) &&>)>;

  virtual ~Broker() = default;
  // Logs `event` (numbering it) and publishes it; `done` runs on any thread
  // once both happened, or with why neither did (then nothing may be
  // delivered, so a retry with the same key delivers exactly once). An empty
  // `idempotency_key` is never a duplicate.
  virtual void Publish(const Event& event, std::string_view idempotency_key, PublishDone done) = 0;
  // Set before the first event can arrive; called on the broker's thread.
  virtual void SetHandlers(Handlers handlers) = 0;
  // Every live node, this one included.
  virtual void Nodes(NodesDone done) = 0;
  // Hands `request` to every other live node's request handler; `done`
  // gets the answers that came by the deadline (none on a single node), or
  // why the others could not be asked.
  virtual void AskOthers(std::string request, AnswersDone done) = 0;
  // The same with a deadline of the caller's.
  virtual void AskOthersWithin(std::string request, std::chrono::milliseconds timeout,
                               AnswersDone done) = 0;
  // Hands `request` to node `node` alone: `done` gets its answer (one, or
  // none when it did not answer by `timeout`).
  virtual void AskNode(std::string node, std::string request, std::chrono::milliseconds timeout,
                       AnswersDone done) = 0;
};

}  // namespace roomcast::core
