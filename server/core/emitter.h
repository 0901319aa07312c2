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
#include "server/core/event_store.h"
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
};

struct EmitResult {
  uint64_t recipients = 0;  // Sockets of this node that queued the event.
  uint64_t offset = 0;      // Position in the namespace's event sequence.
};

// The one executor every transport calls to deliver an event: it validates,
// encodes the Socket.IO packet once, assigns the offset, logs the event,
// tells the other nodes (broker) and fans the shared packet out to every
// local shard.
class Emitter {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<EmitResult>) &&>;
  using DoneAll = absl::AnyInvocable<void(std::vector<absl::StatusOr<EmitResult>>) &&>;

  Emitter(ShardSet& shards, Broker& broker, EventStore& store, base::Counters& counters);

  // `done` runs once every shard has queued the event (on one of their
  // threads), or at once with the reason the request is invalid.
  void Emit(EmitRequest request, Done done);
  // Several events, in order, with one trip to each shard for all of them;
  // `done` gets each one's result (an invalid one its reason, the others
  // still go).
  void EmitAll(std::vector<EmitRequest> requests, DoneAll done);

  static absl::Status Validate(const EmitRequest& request);
  static SharedPacket Encode(const EmitRequest& request);

 private:
  // Validates, encodes, appends to the log (which numbers it) and
  // publishes: everything but delivery. Nothing the log refused goes out.
  absl::StatusOr<std::shared_ptr<const Event>> Prepare(EmitRequest request);
  // Queues the event's packet for every local socket it targets.
  void Deliver(const std::shared_ptr<const Event>& event, Done done);
  // The same on one shard; the sockets that queued it.
  uint64_t DeliverOnShard(RoomIndex& rooms, const Event& event);

  ShardSet& shards_;
  Broker& broker_;
  EventStore& store_;
  base::Counters& counters_;
};

}  // namespace roomcast::core
