#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/auth/authenticator.h"
#include "server/auth/room_policy.h"

namespace roomcast::app {

// Everything roomcastd is told at startup, from flags and environment.
struct Config {
  std::string host;  // Resolved: an IP literal, `::` (dual-stack) by default.
  uint16_t port = 3001;
  uint16_t grpc_port = 50051;
  std::string internal_api_key;  // Empty: control calls need no key.
  std::string database_url;      // Empty: no database.
  bool insecure = false;
  auth::AuthConfig auth;
  std::vector<std::string> public_namespaces;
  auth::RoomPolicy room_policy;
  std::chrono::milliseconds idempotency_window{300000};
  size_t memory_soft_limit_bytes = 0;
  std::chrono::milliseconds health_interval{2000};
  std::string node_env;
  bool production = false;
  std::string cors_origin;  // As given; empty = unset.
  std::vector<std::string> namespaces;
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds upgrade_timeout{10000};
  std::chrono::milliseconds connect_timeout{45000};
  size_t max_http_buffer_size = 1000000;
  size_t send_queue_bytes = 8 << 20;
  size_t max_rooms_per_socket = 1000;
  size_t max_connections = 19000;
  size_t max_connections_per_ip = 1000;
  double handshakes_per_ip_per_s = 100;
  std::vector<std::string> trusted_proxies;
  double client_events_per_s = 100;
  size_t max_attachments = 10;
  size_t max_emit_bytes = 1000000;
  size_t max_batch_size = 1000;
  size_t event_log_size = 1000;
  size_t shards = 0;
  std::chrono::milliseconds drain_grace{2000};
  std::chrono::milliseconds drain_deadline{10000};
  bool enable_client_broadcast = false;
  std::string log_level;
  std::string log_format;
};

// Parses flags (which win) and environment variables into a Config. Errors
// name the setting; `argv` usage and --help are handled by absl.
absl::StatusOr<Config> LoadConfig(int argc, char** argv);

}  // namespace roomcast::app
