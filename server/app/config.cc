#include "server/app/config.h"
#include "server/base/string_view.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

ABSL_FLAG(int32_t, port, 3001,
          "HTTP port for Socket.IO and the HTTP API; 0 picks a free one. Env: PORT.");
ABSL_FLAG(int32_t, grpc_port, 50051,
          "gRPC port (control plane, reflection, grpc.health.v1); 0 picks a free one. "
          "Env: GRPC_PORT.");
ABSL_FLAG(std::string, internal_api_key, "",
          "Key every control call must carry (`authorization: Bearer <key>` or `x-api-key`); "
          "health and metrics stay open. Env: INTERNAL_API_KEY.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL URL (postgresql://user:pass@host:port/db); checked by /api/health. "
          "Env: DATABASE_URL.");
ABSL_FLAG(bool, insecure, false,
          "Allow NODE_ENV=production without INTERNAL_API_KEY or a browser secret. "
          "Env: ROOMCAST_INSECURE.");
ABSL_FLAG(std::string, jwt_secret, "",
          "HS256/384/512 secret: browsers must connect with a token signed with it (auth.token "
          "or Authorization: Bearer). Env: JWT_SECRET.");
ABSL_FLAG(std::string, jwt_public_key_file, "",
          "PEM public key for RS256/ES256 tokens. Env: ROOMCAST_JWT_PUBLIC_KEY_FILE.");
ABSL_FLAG(int32_t, jwt_leeway_s, 60,
          "Clock skew allowed on exp/nbf, in seconds. Env: ROOMCAST_JWT_LEEWAY_S.");
ABSL_FLAG(std::string, jwt_issuer, "",
          "Required `iss` of tokens, if set. Env: ROOMCAST_JWT_ISSUER.");
ABSL_FLAG(std::string, jwt_audience, "",
          "Required `aud` of tokens, if set. Env: ROOMCAST_JWT_AUDIENCE.");
ABSL_FLAG(std::string, nextauth_secret, "",
          "NextAuth / Auth.js secret: a same-site browser is authenticated by its session cookie. "
          "Env: NEXTAUTH_SECRET.");
ABSL_FLAG(std::string, room_policy, "",
          "JSON file {\"allow\": [patterns]} of rooms authenticated browsers may join themselves "
          "(`user:{sub}`, `org:{claims.org}:*`, `public:*`); a token's `rooms` claim adds more. "
          "Default: only `user:{sub}`. Env: ROOMCAST_ROOM_POLICY.");
ABSL_FLAG(std::string, public_namespaces, "",
          "Comma-separated namespaces anyone may connect to when authentication is on. "
          "Env: ROOMCAST_PUBLIC_NAMESPACES.");
ABSL_FLAG(int32_t, idempotency_window_ms, 300000,
          "How long an emit idempotency key is remembered. Env: ROOMCAST_IDEMPOTENCY_WINDOW_MS.");
ABSL_FLAG(int64_t, memory_soft_limit_mb, 0,
          "Resident memory over which health reports DEGRADED; 0 = no limit. "
          "Env: ROOMCAST_MEMORY_SOFT_LIMIT_MB.");
ABSL_FLAG(int32_t, health_interval_ms, 2000,
          "How often health checks run in the background (for grpc.health.v1). "
          "Env: ROOMCAST_HEALTH_INTERVAL_MS.");
ABSL_FLAG(std::string, host, "",
          "Address to bind. Env: ROOMCAST_HOST, else HOSTNAME when it is an IP literal "
          "(container hostnames are ignored). Default `::`, dual-stack (IPv4 and IPv6).");
ABSL_FLAG(std::string, node_env, "development",
          "Deployment mode; `production` tightens defaults (CORS). Env: NODE_ENV.");
ABSL_FLAG(std::string, cors_origin, "",
          "Comma-separated browser origins allowed on /socket.io/, or `*`. Unset: any origin, "
          "except in production where only non-browser clients are. Env: CORS_ORIGIN.");
ABSL_FLAG(std::string, namespaces, "/",
          "Comma-separated Socket.IO namespaces clients may connect to. Env: ROOMCAST_NAMESPACES.");
ABSL_FLAG(int32_t, ping_interval_ms, 25000,
          "Engine.IO pingInterval. Env: ROOMCAST_PING_INTERVAL_MS.");
ABSL_FLAG(int32_t, ping_timeout_ms, 20000, "Engine.IO pingTimeout. Env: ROOMCAST_PING_TIMEOUT_MS.");
ABSL_FLAG(int32_t, upgrade_timeout_ms, 10000,
          "Time a polling -> WebSocket upgrade may take. Env: ROOMCAST_UPGRADE_TIMEOUT_MS.");
ABSL_FLAG(int32_t, connect_timeout_ms, 45000,
          "Time a client has to connect a namespace after the handshake. "
          "Env: ROOMCAST_CONNECT_TIMEOUT_MS.");
ABSL_FLAG(int64_t, max_http_buffer_size, 1000000,
          "Largest polling POST body / WebSocket message in bytes (maxHttpBufferSize). "
          "Env: ROOMCAST_MAX_HTTP_BUFFER_SIZE.");
ABSL_FLAG(int64_t, send_queue_bytes, 8 << 20,
          "Bytes queued for one client before it counts as too slow and is disconnected. "
          "Env: ROOMCAST_SEND_QUEUE_BYTES.");
ABSL_FLAG(
    int32_t, max_rooms_per_socket, 1000,
    "Rooms one socket may be in (its own id room aside). Env: ROOMCAST_MAX_ROOMS_PER_SOCKET.");
ABSL_FLAG(int32_t, max_connections, 19000,
          "Browser connections (Engine.IO sessions) at once; more get HTTP 503. 0 = no limit. "
          "Env: ROOMCAST_MAX_CONNECTIONS.");
ABSL_FLAG(
    int32_t, max_connections_per_ip, 1000,
    "Connections from one client address. 0 = no limit. Env: ROOMCAST_MAX_CONNECTIONS_PER_IP.");
ABSL_FLAG(int32_t, handshakes_per_ip_per_s, 100,
          "New connections per second from one address (bursts of 4x). 0 = no limit. "
          "Env: ROOMCAST_HANDSHAKES_PER_IP_PER_S.");
ABSL_FLAG(std::string, trusted_proxies, "",
          "Comma-separated proxy addresses whose X-Forwarded-For names the client. "
          "Env: ROOMCAST_TRUSTED_PROXIES.");
ABSL_FLAG(int32_t, client_events_per_s, 100,
          "Events one socket may send per second (bursts of 2x); more are refused with a `limit` "
          "ack. 0 = no limit. Env: ROOMCAST_CLIENT_EVENTS_PER_S.");
ABSL_FLAG(int32_t, max_attachments, 10,
          "Binary attachments one Socket.IO packet may carry; more close the connection. "
          "Env: ROOMCAST_MAX_ATTACHMENTS.");
ABSL_FLAG(int64_t, max_emit_bytes, 1000000,
          "Largest event data a service may emit, in bytes. Env: ROOMCAST_MAX_EMIT_BYTES.");
ABSL_FLAG(int32_t, max_batch_size, 1000,
          "Most emits in one EmitBatch. Env: ROOMCAST_MAX_BATCH_SIZE.");
ABSL_FLAG(int32_t, event_log_size, 1000,
          "Events kept in memory per namespace for history and recovery (0 = none). "
          "Env: ROOMCAST_EVENT_LOG_SIZE.");
ABSL_FLAG(int32_t, shards, 0,
          "Event-loop threads, one per core; 0 = number of cores. Env: ROOMCAST_SHARDS.");
ABSL_FLAG(int32_t, drain_grace_ms, 2000,
          "On SIGTERM, time between turning /readyz to 503 and closing the listener, for load "
          "balancers to notice. Env: ROOMCAST_DRAIN_GRACE_MS.");
ABSL_FLAG(int32_t, drain_deadline_ms, 10000,
          "On SIGTERM, time after which the process exits whatever is left. "
          "Env: ROOMCAST_DRAIN_DEADLINE_MS.");
ABSL_FLAG(bool, enable_client_broadcast, false,
          "Let clients send the `broadcast` event (fan-out to rooms) - for tests and debugging "
          "only. Env: ROOMCAST_ENABLE_CLIENT_BROADCAST.");
ABSL_FLAG(std::string, log_level, "info", "trace|debug|info|warn|error. Env: LOG_LEVEL.");
ABSL_FLAG(std::string, log_format, "text", "text|json (JSON lines). Env: LOG_FORMAT.");

namespace roomcast::app {
namespace {

// Environment variables, each the fallback for one flag.
constexpr std::pair<const char*, const char*> kEnvironment[] = {
    {"PORT", "port"},
    {"GRPC_PORT", "grpc_port"},
    {"INTERNAL_API_KEY", "internal_api_key"},
    {"DATABASE_URL", "database_url"},
    {"ROOMCAST_INSECURE", "insecure"},
    {"JWT_SECRET", "jwt_secret"},
    {"ROOMCAST_JWT_PUBLIC_KEY_FILE", "jwt_public_key_file"},
    {"ROOMCAST_JWT_LEEWAY_S", "jwt_leeway_s"},
    {"ROOMCAST_JWT_ISSUER", "jwt_issuer"},
    {"ROOMCAST_JWT_AUDIENCE", "jwt_audience"},
    {"NEXTAUTH_SECRET", "nextauth_secret"},
    {"ROOMCAST_PUBLIC_NAMESPACES", "public_namespaces"},
    {"ROOMCAST_ROOM_POLICY", "room_policy"},
    {"ROOMCAST_IDEMPOTENCY_WINDOW_MS", "idempotency_window_ms"},
    {"ROOMCAST_MEMORY_SOFT_LIMIT_MB", "memory_soft_limit_mb"},
    {"ROOMCAST_HEALTH_INTERVAL_MS", "health_interval_ms"},
    {"ROOMCAST_HOST", "host"},
    {"NODE_ENV", "node_env"},
    {"CORS_ORIGIN", "cors_origin"},
    {"ROOMCAST_NAMESPACES", "namespaces"},
    {"ROOMCAST_PING_INTERVAL_MS", "ping_interval_ms"},
    {"ROOMCAST_PING_TIMEOUT_MS", "ping_timeout_ms"},
    {"ROOMCAST_UPGRADE_TIMEOUT_MS", "upgrade_timeout_ms"},
    {"ROOMCAST_CONNECT_TIMEOUT_MS", "connect_timeout_ms"},
    {"ROOMCAST_MAX_HTTP_BUFFER_SIZE", "max_http_buffer_size"},
    {"ROOMCAST_SEND_QUEUE_BYTES", "send_queue_bytes"},
    {"ROOMCAST_MAX_ROOMS_PER_SOCKET", "max_rooms_per_socket"},
    {"ROOMCAST_EVENT_LOG_SIZE", "event_log_size"},
    {"ROOMCAST_MAX_CONNECTIONS", "max_connections"},
    {"ROOMCAST_MAX_CONNECTIONS_PER_IP", "max_connections_per_ip"},
    {"ROOMCAST_HANDSHAKES_PER_IP_PER_S", "handshakes_per_ip_per_s"},
    {"ROOMCAST_TRUSTED_PROXIES", "trusted_proxies"},
    {"ROOMCAST_CLIENT_EVENTS_PER_S", "client_events_per_s"},
    {"ROOMCAST_MAX_ATTACHMENTS", "max_attachments"},
    {"ROOMCAST_MAX_EMIT_BYTES", "max_emit_bytes"},
    {"ROOMCAST_MAX_BATCH_SIZE", "max_batch_size"},
    {"ROOMCAST_SHARDS", "shards"},
    {"ROOMCAST_DRAIN_GRACE_MS", "drain_grace_ms"},
    {"ROOMCAST_DRAIN_DEADLINE_MS", "drain_deadline_ms"},
    {"ROOMCAST_ENABLE_CLIENT_BROADCAST", "enable_client_broadcast"},
    {"LOG_LEVEL", "log_level"},
    {"LOG_FORMAT", "log_format"},
};

// The flags named on the command line (`--name` or `--name=value`).
std::vector<std::string> FlagsOnCommandLine(int argc, char** argv) {
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--")) {
      arg.remove_prefix(2);
    } else if (arg.starts_with("-")) {
      arg.remove_prefix(1);
    } else {
      continue;
    }
    names.emplace_back(arg.substr(0, arg.find('=')));
  }
  return names;
}

// Environment first, so that flags parsed afterwards override it; a
// variable is not even read for a flag given on the command line, and an
// empty one counts as unset.
absl::Status ApplyEnvironment(const std::vector<std::string>& on_command_line) {
  for (const auto& [env, flag_name] : kEnvironment) {
    const char* value = std::getenv(env);
    if (value == nullptr || *value == '\0' ||
        std::find(on_command_line.begin(), on_command_line.end(), flag_name) !=
            on_command_line.end()) {
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(flag_name);
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value '", value, "' for ", env, ": ", error));
    }
  }
  return absl::OkStatus();
}

bool IsIpLiteral(std::string_view text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(text), ec);
  return !ec;
}

// "--name/ENV", how errors name a setting.
std::string SettingName(std::string_view flag) {
  for (const auto& [env, flag_name] : kEnvironment) {
    if (flag == flag_name) {
      return absl::StrCat("--", ToAbsl(flag), "/", env);
    }
  }
  return absl::StrCat("--", ToAbsl(flag));
}

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view flag) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  if (!file || content.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "' for ", SettingName(flag)));
  }
  return content.str();
}

// Reads numeric flags within bounds, keeping the first error.
class BoundedFlags {
 public:
  template <typename T>
  T Get(const absl::Flag<T>& flag, std::string_view name, int64_t min,
        int64_t max = std::numeric_limits<int64_t>::max()) {
    const T value = absl::GetFlag(flag);
    if ((value < min || value > max) && status_.ok()) {
      status_ = absl::InvalidArgumentError(
          max == std::numeric_limits<int64_t>::max()
              ? absl::StrCat("invalid value ", value, " for ", SettingName(name),
                             ": must be >= ", min)
              : absl::StrCat("invalid value ", value, " for ", SettingName(name), ": must be ", min,
                             "-", max));
    }
    return value;
  }
  std::chrono::milliseconds Millis(const absl::Flag<int32_t>& flag, std::string_view name,
                                   int64_t min = 1) {
    return std::chrono::milliseconds(Get(flag, name, min));
  }
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

}  // namespace

absl::StatusOr<Config> LoadConfig(int argc, char** argv) {
  // --help lists the flags of this file (absl's default looks for main's file).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "server/app/config");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "Roomcast real-time event gateway (Socket.IO v5 / Engine.IO v4 server).\n"
      "Every flag can also be set by the environment variable named in its help.\n"
      "Usage: roomcastd [--port=3001] [--host=::] [--cors_origin=https://app.example] ...");
  if (absl::Status status = ApplyEnvironment(FlagsOnCommandLine(argc, argv)); !status.ok()) {
    return status;
  }
  absl::ParseCommandLine(argc, argv);  // Exits with a message on unknown flags or bad values.

  Config config;
  BoundedFlags bounded;
  config.port = static_cast<uint16_t>(bounded.Get(FLAGS_port, "port", 0, 65535));
  config.grpc_port = static_cast<uint16_t>(bounded.Get(FLAGS_grpc_port, "grpc_port", 0, 65535));
  config.ping_interval = bounded.Millis(FLAGS_ping_interval_ms, "ping_interval_ms");
  config.ping_timeout = bounded.Millis(FLAGS_ping_timeout_ms, "ping_timeout_ms");
  config.upgrade_timeout = bounded.Millis(FLAGS_upgrade_timeout_ms, "upgrade_timeout_ms");
  config.connect_timeout = bounded.Millis(FLAGS_connect_timeout_ms, "connect_timeout_ms");
  config.drain_grace = bounded.Millis(FLAGS_drain_grace_ms, "drain_grace_ms", 0);
  config.drain_deadline = bounded.Millis(FLAGS_drain_deadline_ms, "drain_deadline_ms");
  config.idempotency_window = bounded.Millis(FLAGS_idempotency_window_ms, "idempotency_window_ms");
  config.health_interval = bounded.Millis(FLAGS_health_interval_ms, "health_interval_ms");
  config.max_http_buffer_size = bounded.Get(FLAGS_max_http_buffer_size, "max_http_buffer_size", 1);
  config.send_queue_bytes = bounded.Get(FLAGS_send_queue_bytes, "send_queue_bytes", 1);
  config.max_rooms_per_socket = bounded.Get(FLAGS_max_rooms_per_socket, "max_rooms_per_socket", 1);
  config.event_log_size = bounded.Get(FLAGS_event_log_size, "event_log_size", 0);
  config.max_connections = bounded.Get(FLAGS_max_connections, "max_connections", 0);
  config.max_connections_per_ip =
      bounded.Get(FLAGS_max_connections_per_ip, "max_connections_per_ip", 0);
  config.handshakes_per_ip_per_s =
      bounded.Get(FLAGS_handshakes_per_ip_per_s, "handshakes_per_ip_per_s", 0);
  config.client_events_per_s = bounded.Get(FLAGS_client_events_per_s, "client_events_per_s", 0);
  config.max_emit_bytes = bounded.Get(FLAGS_max_emit_bytes, "max_emit_bytes", 1);
  config.max_attachments = bounded.Get(FLAGS_max_attachments, "max_attachments", 0, 1000);
  config.max_batch_size = bounded.Get(FLAGS_max_batch_size, "max_batch_size", 1);
  config.memory_soft_limit_bytes =
      static_cast<size_t>(bounded.Get(FLAGS_memory_soft_limit_mb, "memory_soft_limit_mb", 0)) << 20;
  const int32_t shards = bounded.Get(FLAGS_shards, "shards", 0, 64);
  config.auth.jwt.leeway = std::chrono::seconds(bounded.Get(FLAGS_jwt_leeway_s, "jwt_leeway_s", 0));
  if (!bounded.status().ok()) {
    return bounded.status();
  }
  config.shards =
      shards == 0 ? std::max(1u, std::thread::hardware_concurrency()) : static_cast<size_t>(shards);
  config.internal_api_key = absl::GetFlag(FLAGS_internal_api_key);
  config.database_url = absl::GetFlag(FLAGS_database_url);
  config.insecure = absl::GetFlag(FLAGS_insecure);
  config.auth.jwt.secret = absl::GetFlag(FLAGS_jwt_secret);
  config.auth.jwt.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  config.auth.jwt.audience = absl::GetFlag(FLAGS_jwt_audience);
  config.auth.nextauth_secret = absl::GetFlag(FLAGS_nextauth_secret);
  if (const std::string path = absl::GetFlag(FLAGS_jwt_public_key_file); !path.empty()) {
    absl::StatusOr<std::string> pem = ReadFile(path, "jwt_public_key_file");
    if (!pem.ok()) {
      return pem.status();
    }
    config.auth.jwt.public_key_pem = *std::move(pem);
  }
  if (const std::string path = absl::GetFlag(FLAGS_room_policy); !path.empty()) {
    absl::StatusOr<std::string> text = ReadFile(path, "room_policy");
    absl::StatusOr<auth::RoomPolicy> policy =
        text.ok() ? auth::RoomPolicy::FromJson(*text) : text.status();
    if (!policy.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(policy.status().message(), " (", SettingName("room_policy"), ")"));
    }
    config.room_policy = *std::move(policy);
  }
  if (config.auth.enabled()) {
    if (absl::StatusOr<std::unique_ptr<auth::Authenticator>> check =
            auth::Authenticator::Create(config.auth);
        !check.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          check.status().message(), " (--jwt_public_key_file/ROOMCAST_JWT_PUBLIC_KEY_FILE)"));
    }
  }
  for (absl::string_view proxy :
       absl::StrSplit(absl::GetFlag(FLAGS_trusted_proxies), ',', absl::SkipWhitespace())) {
    proxy = absl::StripAsciiWhitespace(proxy);
    if (!IsIpLiteral(ToStd(proxy))) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid address '", proxy, "' in ", SettingName("trusted_proxies")));
    }
    config.trusted_proxies.emplace_back(proxy);
  }
  for (absl::string_view nsp :
       absl::StrSplit(absl::GetFlag(FLAGS_public_namespaces), ',', absl::SkipWhitespace())) {
    config.public_namespaces.emplace_back(absl::StripAsciiWhitespace(nsp));
  }

  config.host = absl::GetFlag(FLAGS_host);
  if (config.host.empty()) {
    // HOSTNAME is the old deployment's bind address; in containers it is the
    // container's name, which is not an address and is skipped.
    const char* hostname = std::getenv("HOSTNAME");
    config.host = hostname != nullptr && IsIpLiteral(hostname) ? hostname : "::";
  }
  if (!IsIpLiteral(config.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value '", config.host, "' for --host/ROOMCAST_HOST: not an IP address"));
  }

  config.node_env = absl::GetFlag(FLAGS_node_env);
  config.production = config.node_env == "production";
  if (config.production && config.internal_api_key.empty() && !config.insecure) {
    return absl::FailedPreconditionError(
        "NODE_ENV=production requires INTERNAL_API_KEY (or --insecure to run without one)");
  }
  if (config.production && !config.auth.enabled() && !config.insecure) {
    return absl::FailedPreconditionError(
        "NODE_ENV=production requires browser authentication: JWT_SECRET, "
        "ROOMCAST_JWT_PUBLIC_KEY_FILE or NEXTAUTH_SECRET (or --insecure for anonymous browsers)");
  }
  config.cors_origin = absl::GetFlag(FLAGS_cors_origin);

  for (absl::string_view nsp :
       absl::StrSplit(absl::GetFlag(FLAGS_namespaces), ',', absl::SkipWhitespace())) {
    nsp = absl::StripAsciiWhitespace(nsp);
    if (nsp.empty() || nsp.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid namespace '", nsp,
                       "' in --namespaces/ROOMCAST_NAMESPACES: must start with '/'"));
    }
    config.namespaces.emplace_back(nsp);
  }
  if (config.namespaces.empty()) {
    config.namespaces.push_back("/");
  }

  config.enable_client_broadcast = absl::GetFlag(FLAGS_enable_client_broadcast);
  config.log_level = absl::GetFlag(FLAGS_log_level);
  config.log_format = absl::GetFlag(FLAGS_log_format);
  if (config.log_format != "text" && config.log_format != "json") {
    return absl::InvalidArgumentError(absl::StrCat("invalid value '", config.log_format,
                                                   "' for --log_format/LOG_FORMAT: text or json"));
  }
  return config;
}

}  // namespace roomcast::app
