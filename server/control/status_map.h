#pragma once

#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace roomcast::control {

// The one table: absl code -> gRPC code (same numbers) -> HTTP status, as
// grpc-gateway maps them.
int HttpStatusFor(absl::StatusCode code);
std::string CodeName(absl::StatusCode code);  // "INVALID_ARGUMENT", ...

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// `{"code":3,"message":"...","details":[]}`: google.rpc.Status in JSON.
std::string StatusJson(const absl::Status& status);

}  // namespace roomcast::control
