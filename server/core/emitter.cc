#include "server/core/emitter.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/socketio/packet.h"

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
  // `4` (Engine.IO message) + Socket.IO EVENT or BINARY_EVENT.
  std::string text = request.attachments.empty()
                         ? std::string("42")
                         : absl::StrCat("45", request.attachments.size(), "-");
  text += socketio::NamespacePrefix(request.nsp);
  text += socketio::EventArrayJson(request.event, request.args_json);
  return MakePacket(std::move(text), request.attachments, request.is_volatile);
}

uint64_t Emitter::NextOffset(const std::string& nsp) {
  absl::MutexLock lock(&offsets_mutex_);
  return ++offsets_[nsp];
}

Emitter::Emitter(ShardSet& shards, broker::Broker& broker, storage::EventStore& store,
                 Counters& counters)
    : shards_(shards), broker_(broker), store_(store), counters_(counters) {
  // Emits from other nodes reach this node's sockets the same way.
  broker_.SetHandler([this](const broker::Envelope& envelope) {
    Deliver(std::make_shared<const broker::Envelope>(envelope),
            [](absl::StatusOr<EmitResult>) {});
  });
}

absl::StatusOr<std::shared_ptr<const broker::Envelope>> Emitter::Prepare(EmitRequest request) {
  if (absl::Status status = Validate(request); !status.ok()) {
    return status;
  }
  Counters::Bump(counters_.emits);
  auto envelope = std::make_shared<broker::Envelope>();
  envelope->packet = Encode(request);
  envelope->offset = NextOffset(request.nsp);
  envelope->nsp = std::move(request.nsp);
  envelope->rooms = std::move(request.rooms);
  envelope->except = std::move(request.except);
  if (!request.is_volatile) {
    store_.Append(*envelope);
  }
  broker_.Publish(*envelope);
  return envelope;
}

void Emitter::Emit(EmitRequest request, Done done) {
  absl::StatusOr<std::shared_ptr<const broker::Envelope>> envelope = Prepare(std::move(request));
  if (!envelope.ok()) {
    std::move(done)(envelope.status());
    return;
  }
  Deliver(*std::move(envelope), std::move(done));
}

void Emitter::EmitAll(std::vector<EmitRequest> requests, DoneAll done) {
  using Envelopes = std::vector<std::shared_ptr<const broker::Envelope>>;
  std::vector<absl::StatusOr<EmitResult>> results;
  results.reserve(requests.size());
  auto envelopes = std::make_shared<Envelopes>();
  std::vector<size_t> positions;  // of each envelope in `results`
  for (EmitRequest& request : requests) {
    absl::StatusOr<std::shared_ptr<const broker::Envelope>> envelope = Prepare(std::move(request));
    if (!envelope.ok()) {
      results.emplace_back(envelope.status());
      continue;
    }
    results.emplace_back(EmitResult{0, (*envelope)->offset});
    positions.push_back(results.size() - 1);
    envelopes->push_back(*std::move(envelope));
  }
  if (envelopes->empty()) {
    std::move(done)(std::move(results));
    return;
  }
  GatherFromShards<std::vector<uint64_t>>(
      shards_,
      [this, envelopes](RoomIndex& rooms) {
        std::vector<uint64_t> delivered;
        delivered.reserve(envelopes->size());
        for (const auto& envelope : *envelopes) {
          delivered.push_back(DeliverOnShard(rooms, *envelope));
        }
        return delivered;
      },
      [results = std::move(results), positions = std::move(positions),
       done = std::move(done)](std::vector<std::vector<uint64_t>> per_shard) mutable {
        for (const std::vector<uint64_t>& delivered : per_shard) {
          for (size_t i = 0; i < delivered.size(); ++i) {
            results[positions[i]]->recipients += delivered[i];
          }
        }
        std::move(done)(std::move(results));
      });
}

uint64_t Emitter::DeliverOnShard(RoomIndex& rooms, const broker::Envelope& envelope) {
  uint64_t delivered = 0;
  for (Member* member : rooms.Select(envelope.nsp, envelope.rooms, envelope.except)) {
    delivered += member->Deliver(envelope.packet) ? 1 : 0;
  }
  Counters::Bump(counters_.deliveries, delivered);
  return delivered;
}

void Emitter::Deliver(std::shared_ptr<const broker::Envelope> envelope, Done done) {
  GatherFromShards<uint64_t>(
      shards_,
      [this, envelope](RoomIndex& rooms) { return DeliverOnShard(rooms, *envelope); },
      [offset = envelope->offset, done = std::move(done)](std::vector<uint64_t> delivered) mutable {
        uint64_t recipients = 0;
        for (uint64_t count : delivered) {
          recipients += count;
        }
        std::move(done)(EmitResult{recipients, offset});
      });
}

}  // namespace roomcast::core
