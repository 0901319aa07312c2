#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "server/net/listener.h"
#include "server/net/router.h"
#include "server/net/shard.h"

namespace roomcast::net {

// The shards, the router and the listener, started and stopped together.
class HttpServer {
 public:
  HttpServer(size_t shard_count, HttpRules rules);
  ~HttpServer();

  Shards& shards() { return shards_; }
  Router& router() { return router_; }

  absl::Status Listen(const std::string& host, uint16_t port);
  // HTTPS (and wss) on the port, with the slot's context at accept time.
  void EnableTls(const TlsContextSlot* tls) { listener_.EnableTls(tls); }
  void LimitUnattached(UnattachedConnections* unattached) { listener_.LimitUnattached(unattached); }
  uint16_t port() const { return listener_.port(); }
  void Start();
  void StopAccepting() { listener_.Stop(); }
  // Gives in-flight writes (close frames, last poll answers) up to `flush`
  // to finish, then stops every shard and joins its thread.
  void Shutdown(std::chrono::milliseconds flush);

 private:
  Shards shards_;
  Router router_;
  Listener listener_;
  bool started_ = false;
};

}  // namespace roomcast::net
