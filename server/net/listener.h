#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/status.h"
#include "server/net/router.h"
#include "server/net/shard.h"
#include "server/net/tls_credentials.h"
#include "server/net/unattached_connections.h"

namespace roomcast::net {

// Accepts TCP connections and deals them out to the shards in turn.
// Binding `::` accepts IPv4 too (dual-stack), so `localhost` works whether
// it resolves to 127.0.0.1 or ::1.
class Listener {
 public:
  Listener(Shards& shards, const Router& router);

  absl::Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // From now on connections speak TLS, with the slot's context at accept time.
  void EnableTls(const TlsContextSlot* tls) { tls_ = tls; }
  // From now on connections past its caps are closed at once.
  void LimitUnattached(UnattachedConnections* unattached) { unattached_ = unattached; }
  void Start();
  // Stops accepting; open connections are left alone.
  void Stop();

 private:
  void Accept();

  Shards& shards_;
  const Router& router_;
  const TlsContextSlot* tls_ = nullptr;
  UnattachedConnections* unattached_ = nullptr;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  uint16_t port_ = 0;
  size_t next_shard_ = 0;
};

}  // namespace roomcast::net
