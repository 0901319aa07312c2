#include "server/core/emitter.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/base/clock.h"
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

Emitter::Emitter(ShardSet& shards, Broker& broker, base::Counters& counters)
    : shards_(shards), broker_(broker), counters_(counters) {}

void Emitter::DeliverPublished(const std::shared_ptr<const Event>& event) {
  Deliver(event, [this](const absl::StatusOr<EmitResult>& result) {
    if (result.ok() && result->recipients == 0) {
      base::Counters::Bump(counters_.broker_messages_unused);
    }
  });
}

absl::StatusOr<std::shared_ptr<Event>> Emitter::Prepare(EmitRequest& request) {
  if (absl::Status status = Validate(request); !status.ok()) {
    return status;
  }
  auto event = std::make_shared<Event>();
  event->packet = Encode(request);
  event->time_ms = base::UnixMillis();
  event->nsp = std::move(request.nsp);
  event->rooms = std::move(request.rooms);
  event->except = std::move(request.except);
  return event;
}

void Emitter::Publish(std::shared_ptr<Event> event, const std::string& idempotency_key,
                      Published done) {
  // The broker copies what it sends before it returns: the event is ours
  // again when the answer comes.
  Event& numbered = *event;
  broker_.Publish(numbered, idempotency_key,
                  [this, event = std::move(event),
                   done = std::move(done)](absl::StatusOr<core::Published> published) mutable {
                    if (!published.ok()) {
                      std::move(done)(published.status(), {});
                      return;
                    }
                    if (published->duplicate) {
                      std::move(done)(nullptr, EmitResult{0, published->position.offset,
                                                          published->position.epoch, true});
                      return;
                    }
                    event->position = std::move(published->position);
                    base::Counters::Bump(counters_.emits);
                    std::move(done)(std::shared_ptr<const Event>(std::move(event)), {});
                  });
}

void Emitter::Emit(EmitRequest request, Done done) {
  absl::StatusOr<std::shared_ptr<Event>> event = Prepare(request);
  if (!event.ok()) {
    std::move(done)(event.status());
    return;
  }
  Publish(*std::move(event), request.idempotency_key,
          [this, done = std::move(done)](absl::StatusOr<std::shared_ptr<const Event>> published,
                                         EmitResult first) mutable {
            if (!published.ok()) {
              std::move(done)(published.status());
            } else if (*published == nullptr) {
              std::move(done)(std::move(first));
            } else {
              Deliver(*published, std::move(done));
            }
          });
}

void Emitter::EmitAll(std::vector<EmitRequest> requests, DoneAll done) {
  // Published one after another (the broker keeps their order), delivered
  // together: one trip to each shard for the whole batch.
  struct Batch {
    std::vector<absl::StatusOr<EmitResult>> results;
    std::vector<std::shared_ptr<const Event>> events;  // nullptr: not to deliver
    std::atomic<size_t> remaining;
    DoneAll done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(requests.size(), absl::UnknownError("not published"));
  batch->events.resize(requests.size());
  batch->remaining = requests.size();
  batch->done = std::move(done);
  auto finish_one = [this, batch] {
    if (batch->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      return;
    }
    auto packets = std::make_shared<std::vector<SharedPacket>>(batch->events.size());
    for (size_t i = 0; i < batch->events.size(); ++i) {
      if (batch->events[i] != nullptr) {
        (*packets)[i] = WirePacket(*batch->events[i]);
      }
    }
    GatherFromShards<std::vector<uint64_t>>(
        shards_,
        [this, batch, packets](RoomIndex& rooms) {
          std::vector<uint64_t> delivered(batch->events.size(), 0);
          for (size_t i = 0; i < batch->events.size(); ++i) {
            if (batch->events[i] != nullptr) {
              delivered[i] = DeliverOnShard(rooms, *batch->events[i], (*packets)[i]);
            }
          }
          return delivered;
        },
        [batch](const std::vector<std::vector<uint64_t>>& per_shard) {
          for (const std::vector<uint64_t>& delivered : per_shard) {
            for (size_t i = 0; i < delivered.size(); ++i) {
              if (batch->results[i].ok()) {
                batch->results[i]->recipients += delivered[i];
              }
            }
          }
          std::move(batch->done)(std::move(batch->results));
        });
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StatusOr<std::shared_ptr<Event>> event = Prepare(requests[i]);
    if (!event.ok()) {
      batch->results[i] = event.status();
      finish_one();
      continue;
    }
    Publish(*std::move(event), requests[i].idempotency_key,
            [batch, i, finish_one](absl::StatusOr<std::shared_ptr<const Event>> published,
                                   EmitResult first) {
              if (!published.ok()) {
                batch->results[i] = published.status();
              } else if (*published == nullptr) {
                batch->results[i] = std::move(first);
              } else {
                batch->results[i] = EmitResult{0, (*published)->position.offset,
                                               (*published)->position.epoch, false};
                batch->events[i] = *std::move(published);
              }
              finish_one();
            });
  }
}

SharedPacket Emitter::WirePacket(const Event& event) const {
  // Once per event and node, not per recipient.
  return offsets_on_wire_ && event.position.offset != 0 ? TaggedPacket(event) : event.packet;
}

uint64_t Emitter::DeliverOnShard(RoomIndex& rooms, const Event& event, const SharedPacket& packet) {
  uint64_t delivered = 0;
  for (Member* member : rooms.Select(event.nsp, event.rooms, event.except)) {
    delivered += member->Deliver(packet) ? 1 : 0;
  }
  base::Counters::Bump(counters_.deliveries, delivered);
  return delivered;
}

void Emitter::Deliver(const std::shared_ptr<const Event>& event, Done done) {
  GatherFromShards<uint64_t>(
      shards_,
      [this, event, packet = WirePacket(*event)](RoomIndex& rooms) {
        return DeliverOnShard(rooms, *event, packet);
      },
      [position = event->position,
       done = std::move(done)](const std::vector<uint64_t>& delivered) mutable {
        uint64_t recipients = 0;
        for (uint64_t count : delivered) {
          recipients += count;
        }
        std::move(done)(EmitResult{recipients, position.offset, position.epoch, false});
      });
}

}  // namespace roomcast::core
