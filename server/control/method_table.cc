#include "server/control/method_table.h"

namespace roomcast::control {
namespace {

// Adapts `call(const Request&, Reply<Response>)` to messages of any type.
template <typename Request, typename Response, typename Call>
MethodInvoker Bind(Call call) {
  return [call](const google::protobuf::Message& request, MessageReply reply) {
    call(static_cast<const Request&>(request),
         [reply = std::move(reply)](absl::StatusOr<Response> result) mutable {
           if (!result.ok()) {
             std::move(reply)(result.status());
             return;
           }
           std::move(reply)(std::make_unique<Response>(*std::move(result)));
         });
  };
}

}  // namespace

absl::flat_hash_map<std::string, MethodInvoker> MethodTable(ControlApi& api, Caller caller) {
  absl::flat_hash_map<std::string, MethodInvoker> table;
  table["Emit"] =
      Bind<v1::EmitRequest, v1::EmitResponse>([&api, caller](const auto& request, auto reply) {
        api.Emit(request, caller, std::move(reply));
      });
  table["EmitBatch"] = Bind<v1::EmitBatchRequest, v1::EmitBatchResponse>(
      [&api, caller](const auto& request, auto reply) {
        api.EmitBatch(request, caller, std::move(reply));
      });
  table["SendTestEvent"] = Bind<v1::SendTestEventRequest, v1::SendTestEventResponse>(
      [&api, caller](const auto& request, auto reply) {
        api.SendTestEvent(request, caller, std::move(reply));
      });
  table["Status"] = Bind<v1::StatusRequest, v1::StatusResponse>(
      [&api](const auto& request, auto reply) { api.Status(request, std::move(reply)); });
  table["Health"] = Bind<v1::HealthRequest, v1::HealthResponse>(
      [&api](const auto&, auto reply) { api.Health(std::move(reply)); });
  table["JoinRooms"] = Bind<v1::ChangeRoomsRequest, v1::ChangeRoomsResponse>(
      [&api](const auto& request, auto reply) { api.JoinRooms(request, std::move(reply)); });
  table["LeaveRooms"] = Bind<v1::ChangeRoomsRequest, v1::ChangeRoomsResponse>(
      [&api](const auto& request, auto reply) { api.LeaveRooms(request, std::move(reply)); });
  table["DisconnectSockets"] = Bind<v1::DisconnectSocketsRequest, v1::DisconnectSocketsResponse>(
      [&api](const auto& request, auto reply) {
        api.DisconnectSockets(request, std::move(reply));
      });
  table["ListRoomSockets"] = Bind<v1::ListRoomSocketsRequest, v1::ListRoomSocketsResponse>(
      [&api](const auto& request, auto reply) { api.ListRoomSockets(request, std::move(reply)); });
  return table;
}

}  // namespace roomcast::control
