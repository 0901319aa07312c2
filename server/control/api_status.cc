#include "server/control/api.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "server/base/clock.h"

namespace roomcast::control {
namespace {

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

void SetTime(int64_t unix_ms, google::protobuf::Timestamp& into) {
  into.set_seconds(unix_ms / 1000);
  into.set_nanos(static_cast<int32_t>(unix_ms % 1000) * 1000000);
}

// The cluster's nodes and totals; without them (Redis unreachable) this
// node stands alone, and the error says why.
void AddCluster(v1::StatusResponse& response,
                const absl::StatusOr<std::vector<core::NodeStatus>>& nodes) {
  v1::ClusterStatus* cluster = response.mutable_cluster();
  if (!nodes.ok()) {
    cluster->set_error(std::string(nodes.status().message()));
  }
  std::vector<core::NodeStatus> live = nodes.ok() ? *nodes : std::vector<core::NodeStatus>{};
  auto self = std::find_if(live.begin(), live.end(),
                           [&](const auto& node) { return node.id == response.node_id(); });
  if (self == live.end()) {
    self = live.insert(live.end(), core::NodeStatus::Named(response.node_id(), response.version()));
  }
  // This node's own figures are fresher than its last heartbeat.
  const core::NodeLoad load = LoadOf(response);
  self->sockets = load.sockets;
  self->rooms = load.rooms;
  self->emits = load.emits;
  self->deliveries = load.deliveries;
  self->drops = load.drops;
  const std::string self_id = response.node_id();
  const int64_t now_ms = base::UnixMillis();
  std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  uint64_t sockets = 0;
  for (const core::NodeStatus& node : live) {
    v1::NodeStatus* out = response.add_nodes();
    out->set_id(node.id);
    out->set_address(node.address);
    out->set_version(node.version);
    out->set_sockets(node.sockets);
    out->set_rooms(node.rooms);
    out->set_emits(node.emits);
    out->set_deliveries(node.deliveries);
    out->set_drops(node.drops);
    if (node.last_heartbeat_ms > 0) {
      SetTime(node.last_heartbeat_ms, *out->mutable_last_heartbeat());
    }
    const int64_t sampled = node.id == self_id ? now_ms : node.last_heartbeat_ms;
    if (sampled > 0) {
      SetTime(sampled, *out->mutable_sampled_at());
    }
    sockets += node.sockets;
  }
  cluster->set_nodes(live.size());
  cluster->set_sockets(sockets);
}

}  // namespace

core::NodeLoad LoadOf(const v1::StatusResponse& status) {
  core::NodeLoad load{status.connections(), status.rooms()};
  for (const auto& [transport, count] : status.counters().emits_by_transport()) {
    load.emits += count;
  }
  load.deliveries = status.counters().deliveries();
  for (const auto& [reason, count] : status.counters().drops_by_reason()) {
    load.drops += count;
  }
  return load;
}

void ControlApi::Status(const v1::StatusRequest& request, Caller, Reply<v1::StatusResponse> reply) {
  LocalStatus(request.top_rooms() == 0 ? 10 : request.top_rooms(),
              [this, reply = std::move(reply)](v1::StatusResponse local) mutable {
                auto response = std::make_shared<v1::StatusResponse>(std::move(local));
                parts_.broker.Nodes(
                    [response, reply = std::move(reply)](
                        const absl::StatusOr<std::vector<core::NodeStatus>>& nodes) mutable {
                      AddCluster(*response, nodes);
                      std::move(reply)(std::move(*response));
                    });
              });
}

void ControlApi::LocalStatus(size_t top, absl::AnyInvocable<void(v1::StatusResponse) &&> done) {
  core::GatherFromShards<ShardStatus>(
      parts_.shards, CollectStatus,
      [this, top, reply = std::move(done)](const std::vector<ShardStatus>& shards) mutable {
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
        counters->set_client_events_unavailable(c.client_events_unavailable.load());
        counters->set_client_acks(c.client_acks.load());
        counters->set_client_acks_timed_out(c.client_acks_timed_out.load());
        const ClientEventHub::Stats streams = parts_.client_events.stats();
        response.mutable_client_events()->set_streams(streams.streams);
        response.mutable_client_events()->set_remote_streams(streams.remote_streams);
        response.mutable_client_events()->set_pending_acks(streams.pending_acks);
        response.set_draining(parts_.client_events.draining());
        const observe::LatencyQuantiles latency = parts_.metrics.EmitLatency();
        v1::LatencySummary* summary = response.mutable_emit_latency();
        summary->set_count(latency.count);
        summary->set_p50_ms(latency.p50_ms);
        summary->set_p90_ms(latency.p90_ms);
        summary->set_p99_ms(latency.p99_ms);
        std::move(reply)(std::move(response));
      });
}

void ControlApi::Health(const v1::HealthRequest&, Caller, Reply<v1::HealthResponse> reply) {
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

}  // namespace roomcast::control
