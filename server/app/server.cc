#include "server/app/server.h"

#include <thread>

#include <spdlog/spdlog.h>

#include "server/net/session_listeners.h"

namespace roomcast::app {
namespace {

net::CorsPolicy CorsFor(const Config& config) {
  if (!config.cors_origin.empty()) {
    return net::CorsPolicy::Parse(config.cors_origin);
  }
  // Unset: any origin while developing; in production only non-browser clients.
  return config.production ? net::CorsPolicy::Only({}) : net::CorsPolicy::ReflectAny();
}

}  // namespace

Server::Server(Config config)
    : config_(std::move(config)),
      http_(config_.shards, config_.max_http_buffer_size),
      event_log_(config_.event_log_size),
      emitter_(http_.shards(), broker_, event_log_, counters_),
      room_events_(emitter_, counters_,
                   RoomEvents::Options{config_.max_rooms_per_socket,
                                       config_.enable_client_broadcast}) {
  for (const std::string& nsp : config_.namespaces) {
    namespaces_.Add(nsp, room_events_);
  }
  net::EngineOptions options;
  options.protocol.ping_interval = config_.ping_interval;
  options.protocol.ping_timeout = config_.ping_timeout;
  options.protocol.upgrade_timeout = config_.upgrade_timeout;
  options.protocol.max_payload = config_.max_http_buffer_size;
  options.send_queue_bytes = config_.send_queue_bytes;
  socketio_ = std::make_unique<net::EngineEndpoint>(
      http_.shards(), options, CorsFor(config_),
      [this](net::EngineSession& session) {
        return std::make_unique<net::SocketIoListener>(session, namespaces_, counters_,
                                                       config_.connect_timeout);
      },
      counters_);

  net::Router& router = http_.router();
  router.AddPrefix("/socket.io/", *socketio_);
  router.AddExact("/healthz", [](const net::Request& request) {
    return net::JsonResponse(request, net::http::status::ok, R"({"status":"ok"})");
  });
  router.AddExact("/readyz", [this](const net::Request& request) {
    return draining_ ? net::JsonResponse(request, net::http::status::service_unavailable,
                                         R"({"status":"draining"})")
                     : net::JsonResponse(request, net::http::status::ok, R"({"status":"ready"})");
  });
}

absl::Status Server::Start() {
  if (absl::Status status = http_.Listen(config_.host, config_.port); !status.ok()) {
    return status;
  }
  http_.Start();
  const bool v6 = config_.host.find(':') != std::string::npos;
  spdlog::info("app: roomcastd listening address={}{}{}:{} port={} shards={} namespaces={}",
               v6 ? "[" : "", config_.host, v6 ? "]" : "", http_.port(), http_.port(),
               config_.shards, config_.namespaces.size());
  return absl::OkStatus();
}

void Server::Drain() {
  const auto deadline = std::chrono::steady_clock::now() + config_.drain_deadline;
  draining_ = true;
  spdlog::info("app: draining step=not_ready grace_ms={}", config_.drain_grace.count());
  std::this_thread::sleep_until(
      std::min(deadline, std::chrono::steady_clock::now() + config_.drain_grace));
  http_.StopAccepting();
  spdlog::info("app: draining step=closing_sessions");
  socketio_->CloseAll(engineio::kReasonServerShutdown);
  const auto flush = std::min<std::chrono::steady_clock::duration>(
      std::chrono::milliseconds(300), std::max(deadline - std::chrono::steady_clock::now(),
                                               std::chrono::steady_clock::duration::zero()));
  http_.Shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(flush));
  spdlog::info("app: drained sessions_opened={} sessions_closed={}",
               counters_.sessions_opened.load(), counters_.sessions_closed.load());
}

}  // namespace roomcast::app
