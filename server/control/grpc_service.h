#pragma once

#include "roomcast/v1/roomcast.grpc.pb.h"
#include "server/auth/api_key.h"
#include "server/control/api.h"

namespace roomcast::control {

// Methods anyone may call without the API key: health, which orchestrators probe.
inline bool IsOpenMethod(std::string_view method) { return method == "Health"; }

// roomcast.v1.Roomcast over gRPC: checks the API key and hands each call to
// ControlApi with the callback API, so no gRPC thread ever waits.
class GrpcService final : public v1::Roomcast::CallbackService {
 public:
  GrpcService(ControlApi& api, const auth::ApiKey& key) : api_(api), key_(key) {}

  grpc::ServerUnaryReactor* Emit(grpc::CallbackServerContext* context,
                                 const v1::EmitRequest* request,
                                 v1::EmitResponse* response) override;
  grpc::ServerUnaryReactor* EmitBatch(grpc::CallbackServerContext* context,
                                      const v1::EmitBatchRequest* request,
                                      v1::EmitBatchResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::StatusRequest* request,
                                   v1::StatusResponse* response) override;
  grpc::ServerUnaryReactor* SendTestEvent(grpc::CallbackServerContext* context,
                                          const v1::SendTestEventRequest* request,
                                          v1::SendTestEventResponse* response) override;
  grpc::ServerUnaryReactor* Health(grpc::CallbackServerContext* context,
                                   const v1::HealthRequest* request,
                                   v1::HealthResponse* response) override;
  grpc::ServerUnaryReactor* JoinRooms(grpc::CallbackServerContext* context,
                                      const v1::ChangeRoomsRequest* request,
                                      v1::ChangeRoomsResponse* response) override;
  grpc::ServerUnaryReactor* LeaveRooms(grpc::CallbackServerContext* context,
                                       const v1::ChangeRoomsRequest* request,
                                       v1::ChangeRoomsResponse* response) override;
  grpc::ServerUnaryReactor* DisconnectSockets(grpc::CallbackServerContext* context,
                                              const v1::DisconnectSocketsRequest* request,
                                              v1::DisconnectSocketsResponse* response) override;
  grpc::ServerUnaryReactor* ListRoomSockets(grpc::CallbackServerContext* context,
                                            const v1::ListRoomSocketsRequest* request,
                                            v1::ListRoomSocketsResponse* response) override;

 private:
  // Checks the key, then runs `call(reply)`; the reply finishes the RPC.
  template <typename Response, typename Call>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Response* response,
                                  bool needs_key, Call call);

  ControlApi& api_;
  const auth::ApiKey& key_;
};

}  // namespace roomcast::control
