#include "server/control/grpc_service.h"

#include <cstdlib>

#include <google/protobuf/descriptor.h>
#include <grpcpp/support/server_callback.h>

#include "server/control/call_log.h"
#include "server/control/client_event_stream.h"
#include "server/control/methods.h"
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

GrpcService::GrpcService(ControlApi& api, const auth::ApiKeys& keys) : api_(api), keys_(keys) {
  const google::protobuf::ServiceDescriptor& service =
      *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Roomcast::service_full_name());
  ForEachMethod([&](const auto& method) {
    using Request = typename std::decay_t<decltype(method)>::Request;
    using Response = typename std::decay_t<decltype(method)>::Response;
    const google::protobuf::MethodDescriptor* proto =
        service.FindMethodByName(std::string(method.name));
    if (proto == nullptr) {
      std::abort();  // kMethods names a method the proto lacks: a build mistake.
    }
    // What the generated CallbackService does per method, with the
    // handler built from the list. Methods are registered in proto order.
    MarkMethodCallback(
        proto->index(),
        new grpc::internal::CallbackUnaryHandler<Request, Response>(
            [this, method](grpc::CallbackServerContext* context, const Request* request,
                           Response* response) {
              grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
              CallInfo call{method.name, Caller::kGrpc};
              if (method.access == Access::kApiKey) {
                std::optional<std::string> name = keys_.Identify(
                    Metadata(*context, "authorization"), Metadata(*context, "x-api-key"));
                if (!name) {
                  LogRefusedCall(method.name, Caller::kGrpc);
                  reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                               "a valid internal API key is required"));
                  return reactor;
                }
                call.key_name = *std::move(name);
                CountCall(api_.metrics(), call);
              }
              if (std::optional<std::string_view> header = Metadata(*context, "traceparent")) {
                call.trace = base::ParseTraceParent(*header);
              }
              const std::optional<base::TraceParent> trace = call.trace;  // `call` moves on.
              ScopedTrace scope(trace);
              (api_.*method.serve)(
                  *request, Caller::kGrpc,
                  [reactor, response, call = std::move(call)](absl::StatusOr<Response> result) {
                    LogCall(call, result.status());
                    const grpc::Status status = ToGrpcStatus(result.status());
                    if (result.ok()) {
                      *response = *std::move(result);
                    }
                    reactor->Finish(status);
                  });
              return reactor;
            }));
  });
  // The one streaming method, beside the list (no HTTP route: the webhook is the HTTP way).
  MarkMethodCallback(
      service.FindMethodByName("ReceiveClientEvents")->index(),
      new grpc::internal::CallbackServerStreamingHandler<v1::ReceiveClientEventsRequest,
                                                         v1::ClientEvent>(
          [this](grpc::CallbackServerContext* context,
                 const v1::ReceiveClientEventsRequest* request)
              -> grpc::ServerWriteReactor<v1::ClientEvent>* {
            std::optional<std::string> name = keys_.Identify(Metadata(*context, "authorization"),
                                                             Metadata(*context, "x-api-key"));
            if (!name) {
              LogRefusedCall("ReceiveClientEvents", Caller::kGrpc);
              return ClientEventStream::Refuse(
                  absl::UnauthenticatedError("a valid internal API key is required"));
            }
            CallInfo call{"ReceiveClientEvents", Caller::kGrpc, *std::move(name)};
            CountCall(api_.metrics(), call);
            absl::StatusOr<ClientEventFilter> filter = api_.ClientEventFilterOf(*request);
            LogCall(call, filter.status());
            if (!filter.ok()) {
              return ClientEventStream::Refuse(filter.status());
            }
            return new ClientEventStream(*api_.client_events(), *std::move(filter),
                                         api_.client_event_stream_buffer_bytes(), api_.counters());
          }));
}

}  // namespace roomcast::control
