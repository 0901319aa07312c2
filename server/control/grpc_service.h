#pragma once

#include "roomcast/v1/roomcast.grpc.pb.h"
#include "server/auth/api_key.h"
#include "server/control/api.h"

namespace roomcast::control {

// roomcast.v1.Roomcast over gRPC, one callback handler per entry of
// kMethods (methods.h): checks the API key and hands the call to ControlApi,
// so no gRPC thread ever waits.
class GrpcService final : public v1::Roomcast::Service {
 public:
  GrpcService(ControlApi& api, const auth::ApiKey& key);

 private:
  ControlApi& api_;
  const auth::ApiKey& key_;
};

}  // namespace roomcast::control
