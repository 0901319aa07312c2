#pragma once

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "server/app/config.h"
#include "server/app/room_events.h"
#include "server/broker/broker.h"
#include "server/core/counters.h"
#include "server/core/emitter.h"
#include "server/net/engine_endpoint.h"
#include "server/net/http_server.h"
#include "server/socketio/handler.h"
#include "server/storage/event_store.h"

namespace roomcast::app {

// roomcastd's parts wired together: shards and listener, the Socket.IO
// endpoint with Roomcast's room events, health and readiness routes.
class Server {
 public:
  explicit Server(Config config);

  absl::Status Start();
  uint16_t port() const { return http_.port(); }
  // The SIGTERM sequence: not ready -> grace -> stop accepting -> Engine.IO
  // close to every session -> stop. Blocks until done.
  void Drain();

 private:
  Config config_;
  core::Counters counters_;
  net::HttpServer http_;
  broker::LocalBroker broker_;
  storage::MemoryEventStore event_log_;
  core::Emitter emitter_;
  RoomEvents room_events_;
  socketio::Namespaces namespaces_;
  std::unique_ptr<net::EngineEndpoint> socketio_;
  std::atomic<bool> draining_{false};
};

}  // namespace roomcast::app
