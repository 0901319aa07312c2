#pragma once

#include "roomcast/v1/roomcast.grpc.pb.h"
#include "server/auth/api_key.h"
#include "server/control/api.h"

namespace roomcast::control {

// roomcast.v1.Roomcast over gRPC, one callback handler per entry of
// kMethods (methods.h): checks the API key, reads the caller's
// `traceparent`, and hands the call to ControlApi, so no gRPC thread ever
// waits.
class GrpcService final : public v1::Roomcast::Service {
 public:
  GrpcService(ControlApi& api, const auth::ApiKeys& keys);

 private:
  ControlApi& api_;
  const auth::ApiKeys& keys_;
};

}  // namespace roomcast::control
