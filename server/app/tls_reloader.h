#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "server/app/config.h"
#include "server/base/counters.h"
#include "server/net/tls_credentials.h"

namespace roomcast::app {

// TLS for both ports from the configured files, re-read by Check(): the
// HTTP port's new connections take the newest context; gRPC's certificate
// provider watches private copies that only ever hold a checked set, so a
// bad new pair keeps the old one on both ports.
class TlsReloader {
 public:
  // `config` has TLS on (LoadConfig checked the files once already).
  static absl::StatusOr<std::unique_ptr<TlsReloader>> Create(const Config& config,
                                                             base::Counters& counters);
  // Removes the private copies.
  ~TlsReloader();

  const net::TlsContextSlot& http() const { return *slot_; }
  std::shared_ptr<grpc::ServerCredentials> GrpcCredentials() const;
  // One look at the files: a new good set is taken, a bad one logged and
  // counted (roomcast_tls_reloads_total).
  void Check();

 private:
  TlsReloader(const Config& config, base::Counters& counters, net::TlsPem pem);
  absl::Status WriteCopies(const net::TlsPem& pem) const;
  std::string SettingOf(net::TlsFile file) const;

  base::Counters& counters_;
  const std::chrono::seconds interval_;
  const bool client_ca_;
  net::TlsReloadCheck check_;
  std::unique_ptr<net::TlsContextSlot> slot_;
  std::string copies_;  // a 0700 directory of key.pem, cert.pem, ca.pem
};

}  // namespace roomcast::app
