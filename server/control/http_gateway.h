#pragma once

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/container/flat_hash_map.h"
#include "server/auth/api_key.h"
#include "server/net/router.h"

namespace roomcast::control {

// JSON over HTTP for a gRPC service, grpc-gateway style: the routes are read
// at startup from the methods' google.api.http options; a request's JSON
// body (or query) becomes the request message by protobuf's JSON mapping,
// and the call goes through the in-process gRPC channel, so it meets the
// same service, key check included, as any gRPC client.
class HttpGateway final : public net::HttpRoute {
 public:
  HttpGateway(const google::protobuf::ServiceDescriptor& service,
              std::shared_ptr<grpc::Channel> channel, const auth::ApiKey& key,
              std::string via_http_mark);

  // Every path some method is bound to, for the router.
  std::vector<std::string> Paths() const;
  void Handle(const std::shared_ptr<net::HttpConnection>& connection,
              net::Request request) override;

 private:
  struct Binding {
    net::http::verb verb;
    std::string body;  // "*": the whole JSON body is the request; "": query parameters.
    const google::protobuf::MethodDescriptor* method;
  };
  void AddBindings(const google::protobuf::MethodDescriptor& method);
  void Call(const std::shared_ptr<net::HttpConnection>& connection, const net::Request& request,
            const Binding& binding);

  absl::flat_hash_map<std::string, std::vector<Binding>> routes_;
  grpc::GenericStub stub_;
  const auth::ApiKey& key_;
  std::string via_http_mark_;
};

}  // namespace roomcast::control
