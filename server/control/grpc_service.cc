#include "server/control/grpc_service.h"

#include "server/control/status_map.h"

namespace roomcast::control {
namespace {

std::optional<std::string_view> Metadata(const grpc::CallbackServerContext& context,
                                         std::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) {
    return std::nullopt;
  }
  return std::string_view(it->second.data(), it->second.size());
}

}  // namespace

template <typename Response, typename Call>
grpc::ServerUnaryReactor* GrpcService::Serve(grpc::CallbackServerContext* context,
                                             Response* response, bool needs_key, Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (needs_key &&
      !key_.Accepts(Metadata(*context, "authorization"), Metadata(*context, "x-api-key"))) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "a valid internal API key is required"));
    return reactor;
  }
  call([reactor, response](absl::StatusOr<Response> result) {
    if (result.ok()) {
      *response = *std::move(result);
    }
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* GrpcService::Emit(grpc::CallbackServerContext* context,
                                            const v1::EmitRequest* request,
                                            v1::EmitResponse* response) {
  return Serve(context, response, !IsOpenMethod("Emit"), [&](Reply<v1::EmitResponse> reply) {
    api_.Emit(*request, Caller::kGrpc, std::move(reply));
  });
}

grpc::ServerUnaryReactor* GrpcService::EmitBatch(grpc::CallbackServerContext* context,
                                                 const v1::EmitBatchRequest* request,
                                                 v1::EmitBatchResponse* response) {
  return Serve(context, response, !IsOpenMethod("EmitBatch"),
               [&](Reply<v1::EmitBatchResponse> reply) {
                 api_.EmitBatch(*request, Caller::kGrpc, std::move(reply));
               });
}

grpc::ServerUnaryReactor* GrpcService::Status(grpc::CallbackServerContext* context,
                                              const v1::StatusRequest* request,
                                              v1::StatusResponse* response) {
  return Serve(context, response, !IsOpenMethod("Status"),
               [&](Reply<v1::StatusResponse> reply) { api_.Status(*request, std::move(reply)); });
}

grpc::ServerUnaryReactor* GrpcService::SendTestEvent(grpc::CallbackServerContext* context,
                                                     const v1::SendTestEventRequest* request,
                                                     v1::SendTestEventResponse* response) {
  return Serve(context, response, !IsOpenMethod("SendTestEvent"),
               [&](Reply<v1::SendTestEventResponse> reply) {
                 api_.SendTestEvent(*request, Caller::kGrpc, std::move(reply));
               });
}

grpc::ServerUnaryReactor* GrpcService::Health(grpc::CallbackServerContext* context,
                                              const v1::HealthRequest*,
                                              v1::HealthResponse* response) {
  return Serve(context, response, !IsOpenMethod("Health"),
               [&](Reply<v1::HealthResponse> reply) { api_.Health(std::move(reply)); });
}

grpc::ServerUnaryReactor* GrpcService::JoinRooms(grpc::CallbackServerContext* context,
                                                 const v1::ChangeRoomsRequest* request,
                                                 v1::ChangeRoomsResponse* response) {
  return Serve(
      context, response, !IsOpenMethod("JoinRooms"),
      [&](Reply<v1::ChangeRoomsResponse> reply) { api_.JoinRooms(*request, std::move(reply)); });
}

grpc::ServerUnaryReactor* GrpcService::LeaveRooms(grpc::CallbackServerContext* context,
                                                  const v1::ChangeRoomsRequest* request,
                                                  v1::ChangeRoomsResponse* response) {
  return Serve(
      context, response, !IsOpenMethod("LeaveRooms"),
      [&](Reply<v1::ChangeRoomsResponse> reply) { api_.LeaveRooms(*request, std::move(reply)); });
}

grpc::ServerUnaryReactor* GrpcService::DisconnectSockets(
    grpc::CallbackServerContext* context, const v1::DisconnectSocketsRequest* request,
    v1::DisconnectSocketsResponse* response) {
  return Serve(context, response, !IsOpenMethod("DisconnectSockets"),
               [&](Reply<v1::DisconnectSocketsResponse> reply) {
                 api_.DisconnectSockets(*request, std::move(reply));
               });
}

grpc::ServerUnaryReactor* GrpcService::ListRoomSockets(grpc::CallbackServerContext* context,
                                                       const v1::ListRoomSocketsRequest* request,
                                                       v1::ListRoomSocketsResponse* response) {
  return Serve(context, response, !IsOpenMethod("ListRoomSockets"),
               [&](Reply<v1::ListRoomSocketsResponse> reply) {
                 api_.ListRoomSockets(*request, std::move(reply));
               });
}

}  // namespace roomcast::control
