#pragma once

#include <functional>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/control/api.h"

namespace roomcast::control {

using MessageReply =
    absl::AnyInvocable<void(absl::StatusOr<std::unique_ptr<google::protobuf::Message>>) &&>;
// One method of roomcast.v1.Roomcast on messages of any type: the request
// must be the method's input type; the reply carries its output type.
using MethodInvoker =
    std::function<void(const google::protobuf::Message& request, MessageReply reply)>;

// Every method of roomcast.v1.Roomcast by name, bound to ControlApi for
// callers of `caller`'s kind: what the HTTP shim calls, in process, without
// a gRPC hop. The API key is the caller's to check.
absl::flat_hash_map<std::string, MethodInvoker> MethodTable(ControlApi& api, Caller caller);

}  // namespace roomcast::control
