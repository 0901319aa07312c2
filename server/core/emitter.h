#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/core/counters.h"
#include "server/core/encoded_packet.h"
#include "server/core/room_index.h"
#include "server/core/shard_set.h"
#include "server/storage/event_store.h"

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

  Emitter(ShardSet& shards, broker::Broker& broker, storage::EventStore& store,
          Counters& counters);

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
  uint64_t NextOffset(const std::string& nsp);
  // Validates, encodes, numbers, logs and publishes: everything but delivery.
  absl::StatusOr<std::shared_ptr<const broker::Envelope>> Prepare(EmitRequest request);
  // Queues the envelope's packet for every local socket it targets.
  void Deliver(std::shared_ptr<const broker::Envelope> envelope, Done done);
  // The same on one shard; the sockets that queued it.
  uint64_t DeliverOnShard(RoomIndex& rooms, const broker::Envelope& envelope);

  ShardSet& shards_;
  broker::Broker& broker_;
  storage::EventStore& store_;
  Counters& counters_;
  absl::Mutex offsets_mutex_;
  absl::flat_hash_map<std::string, uint64_t> offsets_ ABSL_GUARDED_BY(offsets_mutex_);
};

}  // namespace roomcast::core
