#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/security/credentials.h>
#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"
#include "clients/cpp/client_options.h"

namespace roomcast {

// The client side of TLS, read once from the files ClientOptions name. One
// rule for every transport: roomcastd turns TLS on for both of its ports at
// once, so a client with a CA file, a client certificate or an https:// URL
// speaks TLS to both and never falls back to plain HTTP.
class ClientTls {
 public:
  // nullopt when TLS is off. An error names the setting that is wrong: an
  // unreadable file, a certificate without its key, or a plain http:// URL
  // (INTERNAL_API_URL or SOCKET_SERVER_URL)
  // while TLS is on.
  static absl::StatusOr<std::optional<ClientTls>> Load(const ClientOptions& options);

  std::shared_ptr<grpc::ChannelCredentials> GrpcCredentials() const;
  // For Beast: TLS 1.2+, peers verified against the CA (else the system's
  // roots), this client's certificate presented when one is set.
  absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> SslContext() const;

 private:
  std::string ca_pem_;
  std::string cert_pem_;
  std::string key_pem_;
};

}  // namespace roomcast
