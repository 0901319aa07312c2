#include "server/control/api.h"

#include <algorithm>

#include <google/protobuf/util/json_util.h>
#include <boost/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/base/string_view.h"
#include "server/core/room_name.h"

namespace roomcast::control {
namespace {

std::string NamespaceOf(const std::string& nsp) { return nsp.empty() ? "/" : nsp; }

template <typename Rooms>  // Any range of std::string.
absl::Status ValidateRooms(const Rooms& rooms, std::string_view field) {
  for (const std::string& room : rooms) {
    if (absl::Status status = core::ValidateRoomName(room); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(field), ": '", room, "': ", status.message()));
    }
  }
  return absl::OkStatus();
}

// The event's argument as JSON text, from `data` (a protobuf Value) or
// `data_json` (checked to be one JSON value, then sent as is).
absl::StatusOr<std::string> ArgumentJson(const v1::EmitRequest& request) {
  switch (request.payload_case()) {
    case v1::EmitRequest::kData: {
      std::string json;
      auto status = google::protobuf::util::MessageToJsonString(request.data(), &json);
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("data: ", status.message().as_string()));
      }
      return json;
    }
    case v1::EmitRequest::kDataJson: {
      boost::system::error_code ec;
      boost::json::parse(request.data_json(), ec);
      if (ec) {
        return absl::InvalidArgumentError(absl::StrCat("dataJson is not JSON: ", ec.message()));
      }
      return request.data_json();
    }
    case v1::EmitRequest::PAYLOAD_NOT_SET:
      return std::string();
  }
  return std::string();
}

absl::StatusOr<core::EmitRequest> ToCoreRequest(const v1::EmitRequest& request) {
  core::EmitRequest out;
  out.nsp = NamespaceOf(request.namespace_());
  if (!request.room().empty()) {
    out.rooms.push_back(request.room());
  }
  out.rooms.insert(out.rooms.end(), request.rooms().begin(), request.rooms().end());
  if (absl::Status status = ValidateRooms(out.rooms, "rooms"); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateRooms(request.except_rooms(), "exceptRooms"); !status.ok()) {
    return status;
  }
  out.except.assign(request.except_rooms().begin(), request.except_rooms().end());
  out.event = request.event();
  absl::StatusOr<std::string> args = ArgumentJson(request);
  if (!args.ok()) {
    return args.status();
  }
  out.args_json = *std::move(args);
  out.is_volatile = request.volatile_();
  if (absl::Status status = core::Emitter::Validate(out); !status.ok()) {
    return status;
  }
  return out;
}

// The rooms that stand for a selector: a socket's own id room, a room, or
// the room every socket of a user is in.
absl::StatusOr<std::vector<std::string>> TargetRooms(const v1::SocketSelector& selector) {
  switch (selector.target_case()) {
    case v1::SocketSelector::kSocketId:
      return std::vector<std::string>{selector.socket_id()};
    case v1::SocketSelector::kRoom:
      return std::vector<std::string>{selector.room()};
    case v1::SocketSelector::kUserId:
      return std::vector<std::string>{absl::StrCat("user:", selector.user_id())};
    case v1::SocketSelector::TARGET_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("sockets: one of socketId, room or userId is required");
}

v1::ServingStatus ToProto(observe::Serving status) {
  switch (status) {
    case observe::Serving::kServing:
      return v1::SERVING;
    case observe::Serving::kDegraded:
      return v1::DEGRADED;
    case observe::Serving::kNotServing:
      return v1::NOT_SERVING;
  }
  return v1::SERVING_STATUS_UNSPECIFIED;
}

uint64_t Sum(const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  for (uint64_t count : counts) {
    total += count;
  }
  return total;
}

// One shard's contribution to Status.
struct ShardStatus {
  absl::flat_hash_map<std::string, uint64_t> sockets_by_nsp;
  std::vector<v1::RoomSize> rooms;  // Own id rooms excluded.
};

ShardStatus CollectStatus(core::RoomIndex& index) {
  ShardStatus status;
  for (const std::string& nsp : index.Namespaces()) {
    status.sockets_by_nsp[nsp] = index.MemberCount(nsp);
  }
  index.ForEachRoom([&](std::string_view nsp, std::string_view room, size_t size) {
    if (size == 1) {
      const std::string name(room);
      std::vector<core::Member*> members = index.Select(nsp, {&name, 1}, {});
      if (!members.empty() && members.front()->id() == room) {
        return;  // A socket's own room.
      }
    }
    v1::RoomSize entry;
    entry.set_namespace_(std::string(nsp));
    entry.set_room(std::string(room));
    entry.set_members(size);
    status.rooms.push_back(std::move(entry));
  });
  return status;
}

v1::EmitResponse ResponseOf(const core::EmitResult& result) {
  v1::EmitResponse response;
  response.set_recipients(result.recipients);
  response.set_offset(result.offset);
  return response;
}

void SetResult(v1::EmitBatchResult& item, const absl::StatusOr<v1::EmitResponse>& result) {
  if (result.ok()) {
    *item.mutable_emitted() = *result;
  } else {
    item.mutable_error()->set_code(absl::StatusCodeToString(result.status().code()));
    item.mutable_error()->set_message(std::string(ToStd(result.status().message())));
  }
}

}  // namespace

absl::StatusOr<std::string> ControlApi::KnownNamespace(const std::string& nsp) const {
  std::string name = NamespaceOf(nsp);
  if (std::find(parts_.namespaces.begin(), parts_.namespaces.end(), name) ==
      parts_.namespaces.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "namespace \"", name,
        "\" is not configured (configured: ", absl::StrJoin(parts_.namespaces, ", "), ")"));
  }
  return name;
}

absl::StatusOr<core::EmitRequest> ControlApi::CheckedCoreRequest(const v1::EmitRequest& request) {
  if (absl::StatusOr<std::string> nsp = KnownNamespace(request.namespace_()); !nsp.ok()) {
    return nsp.status();
  }
  absl::StatusOr<core::EmitRequest> emit = ToCoreRequest(request);
  if (emit.ok() && emit->args_json.size() > parts_.max_emit_bytes) {
    base::Counters::Bump(parts_.counters.emits_refused);
    emit = absl::InvalidArgumentError(absl::StrCat("data is ", emit->args_json.size(),
                                                   " bytes, more than the limit of ",
                                                   parts_.max_emit_bytes));
  }
  return emit;
}

void ControlApi::Emit(const v1::EmitRequest& request, Caller caller,
                      Reply<v1::EmitResponse> reply) {
  absl::StatusOr<core::EmitRequest> emit = CheckedCoreRequest(request);
  if (!emit.ok()) {
    std::move(reply)(emit.status());
    return;
  }
  const std::string& key = request.idempotency_key();
  if (!key.empty()) {
    auto shared_reply = std::make_shared<Reply<v1::EmitResponse>>(std::move(reply));
    const bool first_time = parts_.idempotency.Claim(
        emit->nsp, key, [shared_reply](std::optional<IdempotencyCache::Result> first) {
          if (!first) {
            std::move (*shared_reply)(
                absl::AbortedError("the first emit with this idempotency key failed; retry"));
            return;
          }
          v1::EmitResponse response;
          response.set_duplicate(true);
          response.set_recipients(first->recipients);
          response.set_offset(first->offset);
          std::move (*shared_reply)(response);
        });
    if (!first_time) {
      return;
    }
    reply = [shared_reply](absl::StatusOr<v1::EmitResponse> result) {
      std::move (*shared_reply)(std::move(result));
    };
  }
  base::Counters::Bump(caller == Caller::kGrpc ? parts_.counters.emits_via_grpc
                                               : parts_.counters.emits_via_http);
  const auto started = std::chrono::steady_clock::now();
  std::string nsp = emit->nsp;
  parts_.emitter.Emit(
      *std::move(emit), [this, started, nsp = std::move(nsp), key, reply = std::move(reply)](
                            absl::StatusOr<core::EmitResult> result) mutable {
        parts_.metrics.ObserveEmitLatency(std::chrono::steady_clock::now() - started);
        if (!result.ok()) {
          if (!key.empty()) {
            parts_.idempotency.Release(nsp, key);
          }
          std::move(reply)(result.status());
          return;
        }
        if (!key.empty()) {
          parts_.idempotency.Complete(nsp, key, {result->recipients, result->offset});
        }
        std::move(reply)(ResponseOf(*result));
      });
}

void ControlApi::EmitBatch(const v1::EmitBatchRequest& request, Caller caller,
                           Reply<v1::EmitBatchResponse> reply) {
  struct Batch {
    explicit Batch(size_t n, Reply<v1::EmitBatchResponse> reply)
        : remaining(n), reply(std::move(reply)) {
      for (size_t i = 0; i < n; ++i) {
        response.add_results();
      }
    }
    v1::EmitBatchResponse response;
    std::atomic<size_t> remaining;
    Reply<v1::EmitBatchResponse> reply;
  };
  if (request.emits().empty()) {
    std::move(reply)(v1::EmitBatchResponse());
    return;
  }
  if (static_cast<size_t>(request.emits_size()) > parts_.max_batch_size) {
    base::Counters::Bump(parts_.counters.emits_refused);
    std::move(reply)(absl::InvalidArgumentError(absl::StrCat(
        "a batch holds at most ", parts_.max_batch_size, " emits, not ", request.emits_size())));
    return;
  }
  const bool keyed =
      std::any_of(request.emits().begin(), request.emits().end(),
                  [](const v1::EmitRequest& emit) { return !emit.idempotency_key().empty(); });
  if (!keyed) {
    EmitAll(request, caller, std::move(reply));
    return;
  }
  auto batch = std::make_shared<Batch>(request.emits_size(), std::move(reply));
  // Emitted one after another without waiting: each shard runs them in this order.
  for (int i = 0; i < request.emits_size(); ++i) {
    Emit(request.emits(i), caller, [batch, i](absl::StatusOr<v1::EmitResponse> result) {
      SetResult(*batch->response.mutable_results(i), result);
      if (batch->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::move(batch->reply)(std::move(batch->response));
      }
    });
  }
}

// A batch without idempotency keys: one trip to each shard for all of it.
void ControlApi::EmitAll(const v1::EmitBatchRequest& request, Caller caller,
                         Reply<v1::EmitBatchResponse> reply) {
  v1::EmitBatchResponse response;
  std::vector<core::EmitRequest> emits;
  std::vector<int> positions;  // of each emit in the response
  for (int i = 0; i < request.emits_size(); ++i) {
    v1::EmitBatchResult& item = *response.add_results();
    absl::StatusOr<core::EmitRequest> emit = CheckedCoreRequest(request.emits(i));
    if (!emit.ok()) {
      SetResult(item, emit.status());
      continue;
    }
    emits.push_back(*std::move(emit));
    positions.push_back(i);
  }
  base::Counters::Bump(
      caller == Caller::kGrpc ? parts_.counters.emits_via_grpc : parts_.counters.emits_via_http,
      emits.size());
  const auto started = std::chrono::steady_clock::now();
  parts_.emitter.EmitAll(
      std::move(emits),
      [this, started, response = std::move(response), positions = std::move(positions),
       reply = std::move(reply)](std::vector<absl::StatusOr<core::EmitResult>> results) mutable {
        const auto latency = std::chrono::steady_clock::now() - started;
        for (size_t i = 0; i < results.size(); ++i) {
          parts_.metrics.ObserveEmitLatency(latency);
          v1::EmitBatchResult& item = *response.mutable_results(positions[i]);
          if (!results[i].ok()) {
            SetResult(item, results[i].status());
            continue;
          }
          *item.mutable_emitted() = ResponseOf(*results[i]);
        }
        std::move(reply)(std::move(response));
      });
}

void ControlApi::SendTestEvent(const v1::SendTestEventRequest& request, Caller caller,
                               Reply<v1::SendTestEventResponse> reply) {
  if (request.test_room().empty()) {
    std::move(reply)(absl::InvalidArgumentError("testRoom is required"));
    return;
  }
  v1::EmitRequest emit;
  emit.set_namespace_(request.namespace_());
  emit.set_room(request.test_room());
  emit.set_event(request.test_event().empty() ? "test-event" : request.test_event());
  if (request.has_test_data()) {
    *emit.mutable_data() = request.test_data();
  }
  Emit(emit, caller,
       [room = emit.room(), event = emit.event(),
        reply = std::move(reply)](absl::StatusOr<v1::EmitResponse> result) mutable {
         if (!result.ok()) {
           std::move(reply)(result.status());
           return;
         }
         v1::SendTestEventResponse response;
         response.set_success(true);
         response.set_recipients(result->recipients());
         response.set_room(room);
         response.set_event(event);
         std::move(reply)(response);
       });
}

void ControlApi::Status(const v1::StatusRequest& request, Reply<v1::StatusResponse> reply) {
  const size_t top = request.top_rooms() == 0 ? 10 : request.top_rooms();
  core::GatherFromShards<ShardStatus>(
      parts_.shards, CollectStatus,
      [this, top, reply = std::move(reply)](std::vector<ShardStatus> shards) mutable {
        v1::StatusResponse response;
        absl::flat_hash_map<std::string, uint64_t> sockets_by_nsp;
        // The same room may have members on several shards.
        absl::flat_hash_map<std::pair<std::string, std::string>, uint64_t> rooms;
        absl::flat_hash_map<std::string, uint64_t> rooms_by_nsp;
        for (const ShardStatus& shard : shards) {
          for (const auto& [nsp, count] : shard.sockets_by_nsp) {
            sockets_by_nsp[nsp] += count;
          }
          for (const v1::RoomSize& room : shard.rooms) {
            uint64_t& size = rooms[{room.namespace_(), room.room()}];
            if (size == 0) {
              ++rooms_by_nsp[room.namespace_()];
            }
            size += room.members();
          }
        }
        uint64_t connections = 0;
        for (const auto& [nsp, count] : sockets_by_nsp) {
          connections += count;
          v1::NamespaceStatus* ns = response.add_namespaces();
          ns->set_name(nsp);
          ns->set_sockets(count);
          ns->set_rooms(rooms_by_nsp[nsp]);
        }
        std::sort(response.mutable_namespaces()->begin(), response.mutable_namespaces()->end(),
                  [](const auto& a, const auto& b) { return a.name() < b.name(); });
        response.set_connections(connections);
        response.set_rooms(rooms.size());

        std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> largest;
        for (const auto& [key, size] : rooms) {
          largest.emplace_back(size, key);
        }
        std::sort(largest.begin(), largest.end(), [](const auto& a, const auto& b) {
          return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        for (size_t i = 0; i < std::min(top, largest.size()); ++i) {
          v1::RoomSize* room = response.add_top_rooms();
          room->set_namespace_(largest[i].second.first);
          room->set_room(largest[i].second.second);
          room->set_members(largest[i].first);
        }

        response.set_node_id(node_.node_id);
        response.set_version(node_.version);
        response.set_uptime_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::steady_clock::now() - node_.started)
                                        .count());
        const base::Counters& c = parts_.counters;
        v1::Counters* counters = response.mutable_counters();
        (*counters->mutable_emits_by_transport())["grpc"] = c.emits_via_grpc.load();
        (*counters->mutable_emits_by_transport())["http"] = c.emits_via_http.load();
        counters->set_deliveries(c.deliveries.load());
        (*counters->mutable_drops_by_reason())["volatile"] = c.dropped_volatile.load();
        (*counters->mutable_drops_by_reason())["slow_consumer"] =
            c.slow_consumer_disconnects.load();
        counters->set_sessions_opened(c.sessions_opened.load());
        counters->set_protocol_errors(c.protocol_errors.load());
        counters->set_client_events(c.client_events.load());
        counters->set_unknown_events(c.unknown_events.load());
        const observe::LatencyQuantiles latency = parts_.metrics.EmitLatency();
        v1::LatencySummary* summary = response.mutable_emit_latency();
        summary->set_count(latency.count);
        summary->set_p50_ms(latency.p50_ms);
        summary->set_p90_ms(latency.p90_ms);
        summary->set_p99_ms(latency.p99_ms);
        std::move(reply)(std::move(response));
      });
}

void ControlApi::Health(Reply<v1::HealthResponse> reply) {
  auto shared_reply = std::make_shared<Reply<v1::HealthResponse>>(std::move(reply));
  parts_.health.CheckNow([this, shared_reply](const observe::HealthReport& report) {
    v1::HealthResponse response;
    response.set_status(ToProto(report.status));
    for (const observe::CheckResult& check : report.checks) {
      v1::HealthCheck* out = response.add_checks();
      out->set_name(check.name);
      out->set_status(ToProto(check.status));
      out->set_latency_ms(check.latency.count());
      out->set_detail(check.detail);
    }
    response.set_uptime_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::steady_clock::now() - node_.started)
                                    .count());
    std::move (*shared_reply)(std::move(response));
  });
}

void ControlApi::JoinRooms(const v1::ChangeRoomsRequest& request,
                           Reply<v1::ChangeRoomsResponse> reply) {
  ChangeRooms(request, /*join=*/true, std::move(reply));
}

void ControlApi::LeaveRooms(const v1::ChangeRoomsRequest& request,
                            Reply<v1::ChangeRoomsResponse> reply) {
  ChangeRooms(request, /*join=*/false, std::move(reply));
}

void ControlApi::ChangeRooms(const v1::ChangeRoomsRequest& request, bool join,
                             Reply<v1::ChangeRoomsResponse> reply) {
  absl::StatusOr<std::vector<std::string>> targets = TargetRooms(request.sockets());
  absl::Status status = targets.status();
  if (status.ok()) {
    status = request.rooms().empty() ? absl::InvalidArgumentError("rooms: at least one room")
                                     : ValidateRooms(request.rooms(), "rooms");
  }
  absl::StatusOr<std::string> known = KnownNamespace(request.sockets().namespace_());
  if (status.ok()) {
    status = known.status();
  }
  if (!status.ok()) {
    std::move(reply)(status);
    return;
  }
  const std::string nsp = *std::move(known);
  std::vector<std::string> rooms(request.rooms().begin(), request.rooms().end());
  core::GatherFromShards<uint64_t>(
      parts_.shards,
      [nsp, targets = *std::move(targets), rooms = std::move(rooms), join](core::RoomIndex& index) {
        std::vector<core::Member*> members = index.Select(nsp, targets, {});
        for (core::Member* member : members) {
          for (const std::string& room : rooms) {
            join ? member->JoinRoom(room) : member->LeaveRoom(room);
          }
        }
        return static_cast<uint64_t>(members.size());
      },
      [reply = std::move(reply)](std::vector<uint64_t> counts) mutable {
        v1::ChangeRoomsResponse response;
        response.set_sockets(Sum(counts));
        std::move(reply)(response);
      });
}

void ControlApi::DisconnectSockets(const v1::DisconnectSocketsRequest& request,
                                   Reply<v1::DisconnectSocketsResponse> reply) {
  absl::StatusOr<std::vector<std::string>> targets = TargetRooms(request.sockets());
  absl::StatusOr<std::string> known = KnownNamespace(request.sockets().namespace_());
  if (!targets.ok() || !known.ok()) {
    std::move(reply)(targets.ok() ? known.status() : targets.status());
    return;
  }
  const std::string nsp = *std::move(known);
  core::GatherFromShards<uint64_t>(
      parts_.shards,
      [nsp, targets = *std::move(targets),
       close = request.close_connection()](core::RoomIndex& index) {
        // By id, looked up again one at a time: closing a connection also
        // removes its other sockets, which may be on this list.
        std::vector<std::string> ids;
        for (core::Member* member : index.Select(nsp, targets, {})) {
          ids.push_back(member->id());
        }
        uint64_t disconnected = 0;
        for (const std::string& id : ids) {
          std::vector<core::Member*> member = index.Select(nsp, {&id, 1}, {});
          if (!member.empty()) {
            member.front()->Disconnect(close);
            ++disconnected;
          }
        }
        return disconnected;
      },
      [reply = std::move(reply)](std::vector<uint64_t> counts) mutable {
        v1::DisconnectSocketsResponse response;
        response.set_sockets(Sum(counts));
        std::move(reply)(response);
      });
}

void ControlApi::ListRoomSockets(const v1::ListRoomSocketsRequest& request,
                                 Reply<v1::ListRoomSocketsResponse> reply) {
  if (absl::Status status = core::ValidateRoomName(request.room()); !status.ok()) {
    std::move(reply)(absl::InvalidArgumentError(absl::StrCat("room: ", status.message())));
    return;
  }
  absl::StatusOr<std::string> known = KnownNamespace(request.namespace_());
  if (!known.ok()) {
    std::move(reply)(known.status());
    return;
  }
  const std::string nsp = *std::move(known);
  core::GatherFromShards<std::vector<v1::SocketInfo>>(
      parts_.shards,
      [nsp, room = request.room()](core::RoomIndex& index) {
        std::vector<v1::SocketInfo> sockets;
        for (core::Member* member : index.Select(nsp, {&room, 1}, {})) {
          v1::SocketInfo info;
          info.set_id(member->id());
          for (const std::string& name : member->RoomNames()) {
            if (name != member->id()) {
              info.add_rooms(name);
            }
          }
          sockets.push_back(std::move(info));
        }
        return sockets;
      },
      [reply = std::move(reply)](std::vector<std::vector<v1::SocketInfo>> shards) mutable {
        v1::ListRoomSocketsResponse response;
        for (auto& shard : shards) {
          for (auto& info : shard) {
            *response.add_sockets() = std::move(info);
          }
        }
        std::sort(response.mutable_sockets()->begin(), response.mutable_sockets()->end(),
                  [](const auto& a, const auto& b) { return a.id() < b.id(); });
        std::move(reply)(std::move(response));
      });
}

}  // namespace roomcast::control
