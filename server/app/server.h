#pragma once

#include <atomic>
#include <memory>

#include <grpcpp/server.h>

#include "absl/status/status.h"
#include "server/app/config.h"
#include "server/app/tls_reloader.h"
#include "server/auth/api_key.h"
#include "server/base/counters.h"
#include "server/broker/redis_broker.h"
#include "server/control/admin_hub.h"
#include "server/control/api.h"
#include "server/control/api_keys_reloader.h"
#include "server/control/client_event_hub.h"
#include "server/control/grpc_service.h"
#include "server/control/http_gateway.h"
#include "server/control/idempotency.h"
#include "server/control/timer_thread.h"
#include "server/control/webhook_poster.h"
#include "server/core/emitter.h"
#include "server/net/connection_limits.h"
#include "server/net/engine_endpoint.h"
#include "server/net/http_server.h"
#include "server/net/jwks_fetcher.h"
#include "server/net/static_files.h"
#include "server/net/unattached_connections.h"
#include "server/observe/health.h"
#include "server/observe/metrics.h"
#include "server/rooms/room_events.h"
#include "server/socketio/handler.h"
#include "server/socketio/recovery.h"
#include "server/storage/memory_event_store.h"
#include "server/storage/postgres_event_store.h"

namespace roomcast::app {

// roomcastd's parts wired together: the data plane (shards, listener, the
// Socket.IO endpoint with Roomcast's room events), the control plane (gRPC
// service, its HTTP shim) and health, readiness and metrics.
class Server {
 public:
  // `config` as LoadConfig checked it (keys included).
  explicit Server(Config config);
  ~Server();

  absl::Status Start();
  uint16_t port() const { return http_.port(); }
  uint16_t grpc_port() const { return grpc_port_; }
  // The SIGTERM sequence: not ready -> grace -> stop accepting -> Engine.IO
  // close to every session -> stop. Blocks until done.
  void Drain();

 private:
  void AddRoutes();
  absl::Status StartGrpc();
  // TLS from the configured files, checked again every tls_reload_interval_s.
  absl::Status StartTls();
  void ScheduleTlsCheck();
  void OnHealthReport(const observe::HealthReport& report);

  std::unique_ptr<core::EventStore> MakeEventLog();
  // Before the shards (http_): they tell the broker their rooms until they are gone.
  std::unique_ptr<core::Broker> MakeBroker();
  // Connection state recovery's, when it is on (before the shards too:
  // their sockets leave their sessions there).
  std::unique_ptr<core::SessionStore> MakeSessionStore();
  // The client events webhook, when one is configured.
  std::unique_ptr<control::WebhookPoster> MakeWebhook();
  // Where History and recovery read: the configured log.
  core::EventReader& history();

  Config config_;
  const std::string node_id_;
  absl::Status startup_error_;  // What stops Start(), found while wiring.
  base::Counters counters_;
  std::unique_ptr<core::EventStore> event_log_;      // Unless the log is Redis's stream.
  storage::PostgresEventStore* postgres_ = nullptr;  // event_log_, when it is PostgreSQL.
  broker::RedisBroker* redis_ = nullptr;  // broker_, when it is Redis (set by MakeBroker).
  std::unique_ptr<core::Broker> broker_;
  std::unique_ptr<core::SessionStore> sessions_;
  std::unique_ptr<socketio::Recovery> recovery_;
  // Before http_: sessions, released with the shards, give their place back here.
  net::ConnectionLimits limits_;
  net::UnattachedConnections unattached_;
  // With TLS; before http_, whose listener takes its context for each connection.
  std::unique_ptr<TlsReloader> tls_;
  net::HttpServer http_;
  core::Emitter emitter_;
  // Stopped first in ~Server: its tasks use the hub, the API and the shards.
  control::TimerThread timers_;
  std::unique_ptr<control::WebhookPoster> webhook_;
  control::ClientEventHub client_events_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<net::JwksFetcher> jwks_;  // With ROOMCAST_JWKS_URL: fills authenticator_'s keys.
  rooms::RoomEvents room_events_;
  socketio::Namespaces namespaces_;
  std::unique_ptr<net::EngineEndpoint> socketio_;

  observe::Metrics metrics_;
  std::unique_ptr<observe::HealthChecker> health_;
  control::IdempotencyCache idempotency_;
  auth::ApiKeys api_keys_;
  // With ROOMCAST_API_KEYS_FILE: re-reads it on timers_.
  std::unique_ptr<control::ApiKeysReloader> api_keys_reloader_;
  std::unique_ptr<control::ControlApi> api_;
  // The Socket.IO Admin UI (with ROOMCAST_ADMIN_USERNAME and _PASSWORD_HASH),
  // and its files at /admin/ when they were found.
  std::unique_ptr<control::AdminHub> admin_;
  std::unique_ptr<net::StaticFiles> admin_ui_;
  std::unique_ptr<control::GrpcService> grpc_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  uint16_t grpc_port_ = 0;
  std::unique_ptr<control::HttpGateway> gateway_;
  std::atomic<bool> draining_{false};
};

}  // namespace roomcast::app
