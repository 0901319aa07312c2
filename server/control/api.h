#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "roomcast/v1/roomcast.pb.h"
#include "server/base/counters.h"
#include "server/control/client_event_hub.h"
#include "server/control/idempotency.h"
#include "server/control/timer_thread.h"
#include "server/core/broker.h"
#include "server/core/emitter.h"
#include "server/core/shard_set.h"
#include "server/observe/health.h"
#include "server/observe/metrics.h"

namespace roomcast::control {

namespace v1 = ::roomcast::v1;

class AdminHub;

template <typename T>
using Reply = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

// Which transport a call came by, for the emit counters.
enum class Caller { kGrpc, kHttp };

struct NodeInfo {
  std::string node_id;
  std::string version;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// A node's load from its own status: what its heartbeat carries.
core::NodeLoad LoadOf(const v1::StatusResponse& status);

// The control plane's one implementation, behind both the gRPC service and
// the HTTP shim. Replies may come on any thread; nothing here blocks. The
// methods are defined by subject: api_emit.cc, api_rooms.cc, api_status.cc,
// api_cluster.cc, api_history.cc, api_client_events.cc.
class ControlApi {
 public:
  struct Parts {
    core::Emitter& emitter;
    core::Broker& broker;
    core::ShardSet& shards;
    base::Counters& counters;
    observe::Metrics& metrics;
    observe::HealthChecker& health;
    IdempotencyCache& idempotency;
    // Where History reads: the configured event log.
    core::EventReader& history;
    // Where browsers' events meet the services' streams; the deadlines of
    // the acks the control plane waits for.
    ClientEventHub& client_events;
    TimerThread& timers;
    size_t client_event_stream_buffer_bytes = 8 << 20;
    size_t max_emit_bytes = 1000000;
    size_t max_batch_size = 1000;
    // The namespaces browsers can join: a call naming another is refused.
    std::vector<std::string> namespaces = {"/"};
  };

  ControlApi(const Parts& parts, NodeInfo node) : parts_(parts), node_(std::move(node)) {}

  // Every method has the same shape, so that one list (methods.h) can drive
  // both adapters; `caller` only counts emits.
  void Emit(const v1::EmitRequest& request, Caller caller, Reply<v1::EmitResponse> reply);
  void EmitBatch(const v1::EmitBatchRequest& request, Caller caller,
                 Reply<v1::EmitBatchResponse> reply);
  void SendTestEvent(const v1::SendTestEventRequest& request, Caller caller,
                     Reply<v1::SendTestEventResponse> reply);
  void Status(const v1::StatusRequest& request, Caller caller, Reply<v1::StatusResponse> reply);
  // This node's figures alone (no cluster), e.g. for its heartbeat.
  void LocalStatus(size_t top_rooms, absl::AnyInvocable<void(v1::StatusResponse) &&> done);
  void Health(const v1::HealthRequest& request, Caller caller, Reply<v1::HealthResponse> reply);
  void JoinRooms(const v1::ChangeRoomsRequest& request, Caller caller,
                 Reply<v1::ChangeRoomsResponse> reply);
  void LeaveRooms(const v1::ChangeRoomsRequest& request, Caller caller,
                  Reply<v1::ChangeRoomsResponse> reply);
  void DisconnectSockets(const v1::DisconnectSocketsRequest& request, Caller caller,
                         Reply<v1::DisconnectSocketsResponse> reply);
  void ListRoomSockets(const v1::ListRoomSocketsRequest& request, Caller caller,
                       Reply<v1::ListRoomSocketsResponse> reply);
  void History(const v1::HistoryRequest& request, Caller caller, Reply<v1::HistoryResponse> reply);
  void AckClientEvent(const v1::AckClientEventRequest& request, Caller caller,
                      Reply<v1::AckClientEventResponse> reply);
  void EmitWithAck(const v1::EmitWithAckRequest& request, Caller caller,
                   Reply<v1::EmitWithAckResponse> reply);
  // ReceiveClientEvents, which only gRPC serves (as a stream): what the
  // request asks for, checked.
  absl::StatusOr<ClientEventFilter> ClientEventFilterOf(
      const v1::ReceiveClientEventsRequest& request) const;
  ClientEventHub* client_events() const { return &parts_.client_events; }
  size_t client_event_stream_buffer_bytes() const {
    return parts_.client_event_stream_buffer_bytes;
  }
  base::Counters& counters() const { return parts_.counters; }
  observe::Metrics& metrics() const { return parts_.metrics; }
  // Another node's management call for this node's sockets (the four above
  // act on the whole cluster: here, then on every other node).
  void AnswerNode(const std::string& request, absl::AnyInvocable<void(std::string) &&> answer);
  // Where the Admin UI's traffic between nodes goes, when it is on.
  void set_admin(AdminHub* admin) { admin_ = admin; }

 private:
  template <typename Request, typename Response>
  using Here = void (ControlApi::*)(const Request&, Reply<Response>);
  // Runs `here` on this node, then has every other node run `method` on
  // `request` the same way, and folds their answers into this node's.
  template <typename Request, typename Response>
  void Everywhere(std::string_view method, const Request& request, Here<Request, Response> here,
                  Reply<Response> reply);
  // The same calls on this node's sockets alone.
  void JoinRoomsHere(const v1::ChangeRoomsRequest& request, Reply<v1::ChangeRoomsResponse> reply);
  void LeaveRoomsHere(const v1::ChangeRoomsRequest& request, Reply<v1::ChangeRoomsResponse> reply);
  void DisconnectSocketsHere(const v1::DisconnectSocketsRequest& request,
                             Reply<v1::DisconnectSocketsResponse> reply);
  void ListRoomSocketsHere(const v1::ListRoomSocketsRequest& request,
                           Reply<v1::ListRoomSocketsResponse> reply);
  void EmitWithAckHere(const v1::EmitWithAckRequest& request, Reply<v1::EmitWithAckResponse> reply);
  void ChangeRooms(const v1::ChangeRoomsRequest& request, bool join,
                   Reply<v1::ChangeRoomsResponse> reply);
  // An emit as the core takes it, to a known namespace, within the size limit.
  absl::StatusOr<core::EmitRequest> CheckedCoreRequest(const v1::EmitRequest& request);
  void EmitAll(const v1::EmitBatchRequest& request, Caller caller,
               Reply<v1::EmitBatchResponse> reply);

  Parts parts_;
  NodeInfo node_;
  AdminHub* admin_ = nullptr;
};

}  // namespace roomcast::control
