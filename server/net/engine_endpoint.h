#pragma once

#include <functional>
#include <memory>
#include <string>

#include "server/base/counters.h"
#include "server/codec/engineio_handshake.h"
#include "server/net/connection_limits.h"
#include "server/net/cors.h"
#include "server/net/engine_session.h"
#include "server/net/http_connection.h"
#include "server/net/router.h"
#include "server/net/shard.h"

namespace roomcast::net {

struct EngineOptions {
  engineio::ServerOptions protocol;
  size_t send_queue_bytes = 8 << 20;  // Past this a client is too slow and is dropped.
  // Keep each session's address, URL and User-Agent for the Socket.IO layer
  // (the Admin UI shows them, and limits its logins per address).
  bool keep_client_details = false;
  // Polling responses this large or larger are compressed when the client
  // accepts it (engine.io's httpCompression threshold); 0: never.
  size_t compression_threshold = 1024;
};

// An Engine.IO endpoint (`/socket.io/`, `/engine.io/`): checks each request,
// opens sessions on the shard that accepted them and forwards the rest to
// the shard that owns the session named by `sid`.
class EngineEndpoint final : public HttpRoute {
 public:
  using ListenerFactory = std::function<std::unique_ptr<SessionListener>(EngineSession&)>;

  EngineEndpoint(Shards& shards, EngineOptions options, CorsPolicy cors,
                 ListenerFactory make_listener, base::Counters& counters,
                 ConnectionLimits* limits = nullptr);

  void Handle(const std::shared_ptr<HttpConnection>& connection, Request request) override;

  const EngineOptions& options() const { return options_; }
  // A polling response with this endpoint's CORS headers.
  Response PollResponse(const Request& request, http::status status, std::string body) const;
  Response ErrorResponse(const Request& request, const engineio::RequestError& error) const;

  // Closes every session of this endpoint on every shard.
  void CloseAll(std::string_view reason);

 private:
  void AddCorsHeaders(const Request& request, Response& response) const;
  void Preflight(const std::shared_ptr<HttpConnection>& connection, const Request& request);
  void Open(const std::shared_ptr<HttpConnection>& connection, Request request,
            engineio::Transport transport);
  void Upgrade(const std::shared_ptr<HttpConnection>& connection, Request request,
               EngineSession& session);

  Shards& shards_;
  EngineOptions options_;
  CorsPolicy cors_;
  ListenerFactory make_listener_;
  base::Counters& counters_;
  ConnectionLimits* limits_;
};

}  // namespace roomcast::net
