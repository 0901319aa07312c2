#include "server/control/method_table.h"

namespace roomcast::control {

absl::flat_hash_map<std::string, MessageMethod> MethodTable(ControlApi& api, Caller caller) {
  absl::flat_hash_map<std::string, MessageMethod> table;
  ForEachMethod([&](const auto& method) {
    using Request = typename std::decay_t<decltype(method)>::Request;
    using Response = typename std::decay_t<decltype(method)>::Response;
    auto invoke = [&api, caller, serve = method.serve](const google::protobuf::Message& request,
                                                       MessageReply reply) {
      (api.*serve)(static_cast<const Request&>(request), caller,
                   [reply = std::move(reply)](absl::StatusOr<Response> result) mutable {
                     if (!result.ok()) {
                       std::move(reply)(result.status());
                       return;
                     }
                     std::move(reply)(std::make_unique<Response>(*std::move(result)));
                   });
    };
    table.emplace(std::string(method.name), MessageMethod{std::move(invoke), method.access});
  });
  return table;
}

}  // namespace roomcast::control
