#pragma once

#include <string_view>
#include <tuple>

#include "server/control/api.h"

namespace roomcast::control {

// Who may call a method: anyone (health, which orchestrators probe), or
// only callers with the internal API key.
enum class Access { kOpen, kApiKey };

// One method of roomcast.v1.Roomcast: its proto name and the ControlApi
// member that serves it.
template <typename RequestT, typename ResponseT>
struct Method {
  using Request = RequestT;
  using Response = ResponseT;
  std::string_view name;
  void (ControlApi::*serve)(const Request&, Caller, Reply<Response>);
  Access access = Access::kApiKey;
};
template <typename Request, typename Response>
Method(std::string_view, void (ControlApi::*)(const Request&, Caller, Reply<Response>))
    -> Method<Request, Response>;
template <typename Request, typename Response>
Method(std::string_view, void (ControlApi::*)(const Request&, Caller, Reply<Response>), Access)
    -> Method<Request, Response>;

// The control plane's methods, listed once: the gRPC service and the HTTP
// shim are both built from this list (a test checks it against the proto);
// the one streaming method, ReceiveClientEvents, is gRPC's alone.
inline constexpr std::tuple kMethods{
    Method{"Emit", &ControlApi::Emit},
    Method{"EmitBatch", &ControlApi::EmitBatch},
    Method{"SendTestEvent", &ControlApi::SendTestEvent},
    Method{"Status", &ControlApi::Status},
    Method{"Health", &ControlApi::Health, Access::kOpen},
    Method{"JoinRooms", &ControlApi::JoinRooms},
    Method{"LeaveRooms", &ControlApi::LeaveRooms},
    Method{"DisconnectSockets", &ControlApi::DisconnectSockets},
    Method{"ListRoomSockets", &ControlApi::ListRoomSockets},
    Method{"History", &ControlApi::History},
    Method{"AckClientEvent", &ControlApi::AckClientEvent},
    Method{"EmitWithAck", &ControlApi::EmitWithAck},
};

// Calls `visit(method)` for every entry of kMethods, in order.
template <typename Visit>
void ForEachMethod(Visit&& visit) {
  std::apply([&](const auto&... method) { (visit(method), ...); }, kMethods);
}

}  // namespace roomcast::control
