#include "server/core/emitter.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/socketio/packet.h"

namespace roomcast::core {
namespace {

// Shared by the shards of one emit; the last one to finish reports.
struct Fanout {
  Fanout(size_t shards, uint64_t offset, Emitter::Done done)
      : remaining(shards), offset(offset), done(std::move(done)) {}
  std::atomic<size_t> remaining;
  std::atomic<uint64_t> recipients{0};
  uint64_t offset;
  Emitter::Done done;
};

}  // namespace

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

void Emitter::Emit(EmitRequest request, Done done) {
  if (absl::Status status = Validate(request); !status.ok()) {
    std::move(done)(status);
    return;
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
  Deliver(std::move(envelope), std::move(done));
}

void Emitter::Deliver(std::shared_ptr<const broker::Envelope> envelope, Done done) {
  auto fanout = std::make_shared<Fanout>(shards_.size(), envelope->offset, std::move(done));
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    shards_.Run(shard, [this, envelope, fanout](RoomIndex& rooms) {
      uint64_t delivered = 0;
      for (Recipient* recipient : rooms.Select(envelope->nsp, envelope->rooms, envelope->except)) {
        delivered += recipient->Deliver(envelope->packet) ? 1 : 0;
      }
      Counters::Bump(counters_.deliveries, delivered);
      fanout->recipients.fetch_add(delivered, std::memory_order_relaxed);
      if (fanout->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::move(fanout->done)(EmitResult{fanout->recipients.load(), fanout->offset});
      }
    });
  }
}

}  // namespace roomcast::core
