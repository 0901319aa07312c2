#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/base/counters.h"
#include "server/core/broker.h"
#include "server/core/encoded_packet.h"
#include "server/core/event.h"
#include "server/core/room_index.h"
#include "server/core/shard_set.h"

namespace roomcast::core {

// An event for the sockets of one namespace.
struct EmitRequest {
  std::string nsp = "/";
  std::vector<std::string> rooms;   // Empty: every socket of the namespace.
  std::vector<std::string> except;  // Sockets in any of these rooms are skipped.
  std::string event;
  // The event's arguments as serialized JSON values separated by commas
  // (usually one value); binary arguments appear as Socket.IO placeholders.
  std::string args_json;
  std::vector<std::string> attachments;
  bool is_volatile = false;
  // A repeat of a key seen in the last window (on any node) delivers nothing.
  std::string idempotency_key;
};

struct EmitResult {
  uint64_t recipients = 0;  // Sockets of this node that queued the event.
  uint64_t offset = 0;      // Position in the namespace's event sequence.
  std::string epoch;        // The log that assigned `offset`.
  bool duplicate = false;   // A repeat: nothing was delivered.
};

// The one executor every transport calls to deliver an event: it validates,
// encodes the Socket.IO packet once, has the broker log (number) and publish
// it, and fans the shared packet out to every local shard. Events published
// elsewhere reach the local shards the same way.
class Emitter {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<EmitResult>) &&>;
  using DoneAll = absl::AnyInvocable<void(std::vector<absl::StatusOr<EmitResult>>) &&>;

  Emitter(ShardSet& shards, Broker& broker, base::Counters& counters);

  // With connection state recovery on, every logged event reaches sockets
  // with its offset as the last argument.
  void set_offsets_on_wire(bool on) { offsets_on_wire_ = on; }

  // `done` runs once every shard has queued the event (on one of their
  // threads), or with the reason nothing was delivered (invalid, or the
  // broker could not log and publish it).
  void Emit(EmitRequest request, Done done);
  // Several events, in order, with one trip to each shard for all of them;
  // `done` gets each one's result (an invalid one its reason, the others
  // still go).
  void EmitAll(std::vector<EmitRequest> requests, DoneAll done);

  // Delivers an event another node (or a Socket.IO emitter) published.
  void DeliverPublished(const std::shared_ptr<const Event>& event);

  static absl::Status Validate(const EmitRequest& request);
  static SharedPacket Encode(const EmitRequest& request);

 private:
  // Validates and encodes: the event, not yet numbered.
  static absl::StatusOr<std::shared_ptr<Event>> Prepare(EmitRequest& request);
  // Has the broker log and publish `event`; `done` gets the numbered event,
  // or nullptr for a duplicate (with the first attempt's result).
  using Published =
      absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<const Event>>, EmitResult first) &&>;
  void Publish(std::shared_ptr<Event> event, const std::string& idempotency_key, Published done);
  // Queues the event's packet for every local socket it targets.
  void Deliver(const std::shared_ptr<const Event>& event, Done done);
  // The same on one shard; the sockets that queued it.
  uint64_t DeliverOnShard(RoomIndex& rooms, const Event& event, const SharedPacket& packet);
  // What the sockets get for `event`.
  SharedPacket WirePacket(const Event& event) const;

  ShardSet& shards_;
  Broker& broker_;
  base::Counters& counters_;
  bool offsets_on_wire_ = false;
};

}  // namespace roomcast::core
