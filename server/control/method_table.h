#pragma once

#include <functional>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/control/api.h"
#include "server/control/methods.h"

namespace roomcast::control {

using MessageReply =
    absl::AnyInvocable<void(absl::StatusOr<std::unique_ptr<google::protobuf::Message>>) &&>;

// A method of kMethods on messages of any type: the request must be the
// method's input type; the reply carries its output type.
struct MessageMethod {
  std::function<void(const google::protobuf::Message& request, MessageReply reply)> invoke;
  Access access = Access::kApiKey;
};

// Every method of kMethods by name, bound to `api` for callers of `caller`'s
// kind: what the HTTP shim calls, in process, without a gRPC hop. The API
// key is the caller's to check.
absl::flat_hash_map<std::string, MessageMethod> MethodTable(ControlApi& api, Caller caller);

}  // namespace roomcast::control
