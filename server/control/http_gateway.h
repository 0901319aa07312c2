#pragma once

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/container/flat_hash_map.h"
#include "server/auth/api_key.h"
#include "server/control/method_table.h"
#include "server/net/router.h"

namespace roomcast::control {

// JSON over HTTP for roomcast.v1.Roomcast, grpc-gateway style: the routes
// are read at startup from the methods' google.api.http options; a
// request's JSON body (or query) becomes the request message by protobuf's
// JSON mapping, and goes to the same ControlApi as a gRPC call would,
// directly: no gRPC hop on the way.
class HttpGateway final : public net::HttpRoute {
 public:
  HttpGateway(const google::protobuf::ServiceDescriptor& service, ControlApi& api,
              const auth::ApiKeys& keys);

  // Every path some method is bound to, for the router.
  std::vector<std::string> Paths() const;
  void Handle(const std::shared_ptr<net::HttpConnection>& connection,
              net::Request request) override;

 private:
  struct Binding {
    net::http::verb verb;
    std::string body;  // "*": the whole JSON body is the request; "": query parameters.
    const google::protobuf::MethodDescriptor* method;
    const MessageMethod* invoke;
  };
  void AddBindings(const google::protobuf::MethodDescriptor& method);
  void Call(const std::shared_ptr<net::HttpConnection>& connection, const net::Request& request,
            const Binding& binding);

  absl::flat_hash_map<std::string, MessageMethod> methods_;
  absl::flat_hash_map<std::string, std::vector<Binding>> routes_;
  ControlApi& api_;
  const auth::ApiKeys& keys_;
};

}  // namespace roomcast::control
