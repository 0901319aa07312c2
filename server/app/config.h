#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/auth/api_key.h"
#include "server/auth/authenticator.h"
#include "server/auth/room_policy.h"

namespace roomcast::app {

// Everything roomcastd is told at startup. The defaults live in the
// settings table (settings.cc), not here: DefaultConfig() has them.
struct Config {
  std::string host;  // An IP literal once resolved; `::` (dual-stack) by default.
  uint16_t port{};
  uint16_t grpc_port{};
  // TLS on both ports when the pair is set (checked once resolved).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;  // Empty: gRPC clients need no certificate.
  std::chrono::seconds tls_reload_interval{};
  std::string internal_api_key;  // Empty: control calls need no key.
  std::string api_keys_file;     // Empty: the keys are INTERNAL_API_KEY's alone.
  std::chrono::seconds api_keys_reload_interval{};
  // The file's keys, as read at startup (INTERNAL_API_KEY's, named env-1,
  // ..., come before them); none of either: control calls need no key.
  std::vector<auth::NamedKey> api_keys;
  std::string database_url;  // Empty: no database.
  std::string redis_url;     // Empty: a single node (no cluster).
  std::string redis_prefix;
  bool socketio_redis_compat{};
  std::chrono::milliseconds cluster_heartbeat{};
  bool insecure{};
  auth::AuthConfig auth;
  std::vector<std::string> public_namespaces;
  auth::RoomPolicy room_policy;
  std::chrono::milliseconds idempotency_window{};
  size_t memory_soft_limit_bytes{};
  std::chrono::milliseconds health_interval{};
  std::string node_env;
  bool production{};        // NODE_ENV=production, once resolved.
  std::string cors_origin;  // As given; empty = unset.
  std::vector<std::string> namespaces;
  std::chrono::milliseconds ping_interval{};
  std::chrono::milliseconds ping_timeout{};
  std::chrono::milliseconds upgrade_timeout{};
  std::chrono::milliseconds connect_timeout{};
  size_t max_http_buffer_size{};
  size_t http_compression_threshold{};
  size_t send_queue_bytes{};
  size_t max_rooms_per_socket{};
  size_t max_connections{};
  size_t max_connections_per_ip{};
  double handshakes_per_ip_per_s{};
  std::vector<std::string> trusted_proxies;
  bool limit_private_addresses{};
  size_t max_unattached_connections{};  // 0: within connection_budget, less the sessions.
  size_t connection_budget{};           // Resolved from the open-file limit.
  size_t max_unattached_connections_per_ip{};
  std::chrono::milliseconds http_header_timeout{};
  std::chrono::milliseconds http_idle_timeout{};
  double client_events_per_s{};
  std::chrono::milliseconds client_ack_timeout{};
  size_t client_event_stream_buffer_bytes{};
  std::string client_events_webhook;  // Empty: no webhook.
  std::string webhook_secret;         // Empty: INTERNAL_API_KEY's, once resolved.
  size_t webhook_concurrency{};
  size_t webhook_queue{};
  size_t max_attachments{};
  size_t max_emit_bytes{};
  size_t max_batch_size{};
  std::string event_log;  // memory | redis | postgres, once resolved.
  size_t event_log_size{};
  std::chrono::seconds history_retention{};
  std::chrono::milliseconds recovery_window{};  // 0 = off.
  size_t shards{};                              // 0 = one per core, until resolved.
  std::chrono::milliseconds drain_grace{};
  std::chrono::milliseconds drain_deadline{};
  bool enable_client_broadcast{};
  // The Socket.IO Admin UI: on when both are set.
  std::string admin_username;
  std::string admin_password_hash;
  std::string admin_ui_dir;  // Empty: beside the binary, or its ../share/roomcast.
  std::string log_level;
  std::string log_format;
};

// The defaults, then the environment, then the flags (which win), each
// checked by its setting (settings.h); then what follows from them (the
// bind address, shards per core) and the checks across settings. Errors
// name the setting. --help and --version print and exit 0.
absl::StatusOr<Config> LoadConfig(int argc, char** argv);

}  // namespace roomcast::app
