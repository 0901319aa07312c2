#include "server/core/emitter.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/base/counters.h"
#include "server/codec/socketio_packet.h"

namespace roomcast::core {

absl::Status Emitter::Validate(const EmitRequest& request) {
  if (request.event.empty()) {
    return absl::InvalidArgumentError("event name is required");
  }
  if (socketio::IsReservedEvent(request.event)) {
    return absl::InvalidArgumentError(
        absl::StrCat("event name '", request.event, "' is reserved by Socket.IO"));
  }
  if (request.nsp.empty() || request.nsp.front() != '/') {
    return absl::InvalidArgumentError("namespace must start with '/'");
  }
  return absl::OkStatus();
}

SharedPacket Emitter::Encode(const EmitRequest& request) {
  return MakePacket(socketio::EncodeEventMessage(request.nsp, request.event, request.args_json,
                                                 request.attachments.size()),
                    request.attachments, request.is_volatile);
}

Emitter::Emitter(ShardSet& shards, Broker& broker, EventStore& store, base::Counters& counters)
    : shards_(shards), broker_(broker), store_(store), counters_(counters) {
  // Events from other nodes reach this node's sockets the same way.
  broker_.SetHandler([this](const Event& event) {
    Deliver(std::make_shared<const Event>(event), [](const absl::StatusOr<EmitResult>&) {});
  });
}

absl::StatusOr<std::shared_ptr<const Event>> Emitter::Prepare(EmitRequest request) {
  if (absl::Status status = Validate(request); !status.ok()) {
    return status;
  }
  auto event = std::make_shared<Event>();
  event->packet = Encode(request);
  event->nsp = std::move(request.nsp);
  event->rooms = std::move(request.rooms);
  event->except = std::move(request.except);
  absl::StatusOr<StreamPosition> position = store_.Append(*event, request.is_volatile);
  if (!position.ok()) {
    return position.status();
  }
  event->position = *std::move(position);
  base::Counters::Bump(counters_.emits);
  broker_.Publish(*event);
  return event;
}

void Emitter::Emit(EmitRequest request, Done done) {
  absl::StatusOr<std::shared_ptr<const Event>> event = Prepare(std::move(request));
  if (!event.ok()) {
    std::move(done)(event.status());
    return;
  }
  Deliver(*std::move(event), std::move(done));
}

void Emitter::EmitAll(std::vector<EmitRequest> requests, DoneAll done) {
  using Events = std::vector<std::shared_ptr<const Event>>;
  std::vector<absl::StatusOr<EmitResult>> results;
  results.reserve(requests.size());
  auto events = std::make_shared<Events>();
  std::vector<size_t> positions;  // of each event in `results`
  for (EmitRequest& request : requests) {
    absl::StatusOr<std::shared_ptr<const Event>> event = Prepare(std::move(request));
    if (!event.ok()) {
      results.emplace_back(event.status());
      continue;
    }
    results.emplace_back(EmitResult{0, (*event)->position.offset});
    positions.push_back(results.size() - 1);
    events->push_back(*std::move(event));
  }
  if (events->empty()) {
    std::move(done)(std::move(results));
    return;
  }
  GatherFromShards<std::vector<uint64_t>>(
      shards_,
      [this, events](RoomIndex& rooms) {
        std::vector<uint64_t> delivered;
        delivered.reserve(events->size());
        for (const auto& event : *events) {
          delivered.push_back(DeliverOnShard(rooms, *event));
        }
        return delivered;
      },
      [results = std::move(results), positions = std::move(positions),
       done = std::move(done)](const std::vector<std::vector<uint64_t>>& per_shard) mutable {
        for (const std::vector<uint64_t>& delivered : per_shard) {
          for (size_t i = 0; i < delivered.size(); ++i) {
            results[positions[i]]->recipients += delivered[i];
          }
        }
        std::move(done)(std::move(results));
      });
}

uint64_t Emitter::DeliverOnShard(RoomIndex& rooms, const Event& event) {
  uint64_t delivered = 0;
  for (Member* member : rooms.Select(event.nsp, event.rooms, event.except)) {
    delivered += member->Deliver(event.packet) ? 1 : 0;
  }
  base::Counters::Bump(counters_.deliveries, delivered);
  return delivered;
}

void Emitter::Deliver(const std::shared_ptr<const Event>& event, Done done) {
  GatherFromShards<uint64_t>(
      shards_, [this, event](RoomIndex& rooms) { return DeliverOnShard(rooms, *event); },
      [offset = event->position.offset,
       done = std::move(done)](const std::vector<uint64_t>& delivered) mutable {
        uint64_t recipients = 0;
        for (uint64_t count : delivered) {
          recipients += count;
        }
        std::move(done)(EmitResult{recipients, offset});
      });
}

}  // namespace roomcast::core
