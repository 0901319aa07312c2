#include "server/app/settings.h"

#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>
#include <type_traits>

#include <boost/asio/ip/address.hpp>

#include "absl/flags/marshalling.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/auth/admin_login.h"
#include "server/base/string_view.h"
#include "server/broker/redis_address.h"
#include "server/net/address_range.h"

namespace roomcast::app {
namespace {

constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();

// What `field` (a Config member pointer or a lambda) refers to in a Config.
template <typename Field>
using FieldType = std::remove_reference_t<std::invoke_result_t<Field, Config&>>;

absl::StatusOr<int64_t> ParseInteger(std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(ToAbsl(text), &value)) {
    return absl::InvalidArgumentError("not an integer");
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(max == kNoMax ? absl::StrCat("must be >= ", min)
                                                    : absl::StrCat("must be ", min, "-", max));
  }
  return value;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(ToAbsl(text), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) {
      items.emplace_back(item);
    }
  }
  return items;
}

absl::StatusOr<std::string> ReadFile(std::string_view path) {
  std::ifstream file{std::string(path)};
  std::stringstream content;
  content << file.rdbuf();
  if (!file || content.str().empty()) {
    return absl::InvalidArgumentError("cannot read the file");
  }
  return content.str();
}

// A whole number within [min, max], stored as the field's type (an integer,
// a double or a std::chrono duration of that many units).
template <typename Field>
Setting Integer(std::string_view flag, std::string_view env, std::string_view fallback, Field field,
                int64_t min, int64_t max, std::string_view help) {
  return Setting{flag,
                 env,
                 fallback,
                 help,
                 Secret::kNo,
                 false,
                 [field, min, max](std::string_view text, Config& config) -> absl::Status {
                   absl::StatusOr<int64_t> value = ParseInteger(text, min, max);
                   if (!value.ok()) {
                     return value.status();
                   }
                   std::invoke(field, config) = FieldType<Field>(*value);
                   return absl::OkStatus();
                 }};
}

template <typename Field>
Setting Text(std::string_view flag, std::string_view env, std::string_view fallback, Field field,
             std::string_view help, Secret secret = Secret::kNo) {
  return Setting{
      flag, env, fallback, help, secret, false, [field](std::string_view text, Config& config) {
        std::invoke(field, config) = std::string(text);
        return absl::OkStatus();
      }};
}

template <typename Field>
Setting Switch(std::string_view flag, std::string_view env, Field field, std::string_view help) {
  return Setting{
      flag, env, "false", help, Secret::kNo, true, [field](std::string_view text, Config& config) {
        bool value = false;
        std::string error;
        if (!absl::ParseFlag(ToAbsl(text), &value, &error)) {
          return absl::InvalidArgumentError("not a boolean (true or false)");
        }
        std::invoke(field, config) = value;
        return absl::OkStatus();
      }};
}

// A comma-separated list; `check` vets each item.
template <typename Field>
Setting List(std::string_view flag, std::string_view env, std::string_view fallback, Field field,
             std::string_view help,
             const std::function<absl::Status(std::string_view)>& check = nullptr) {
  return Setting{flag,
                 env,
                 fallback,
                 help,
                 Secret::kNo,
                 false,
                 [field, check](std::string_view text, Config& config) -> absl::Status {
                   std::vector<std::string> items = SplitList(text);
                   for (const std::string& item : items) {
                     if (absl::Status status = check ? check(item) : absl::OkStatus();
                         !status.ok()) {
                       return status;
                     }
                   }
                   std::invoke(field, config) = std::move(items);
                   return absl::OkStatus();
                 }};
}

template <typename Field>
Setting Choice(std::string_view flag, std::string_view env, std::string_view fallback, Field field,
               const std::vector<std::string>& choices, std::string_view help) {
  return Setting{
      flag,
      env,
      fallback,
      help,
      Secret::kNo,
      false,
      [field, choices](std::string_view text, Config& config) -> absl::Status {
        if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
          return absl::InvalidArgumentError(absl::StrCat("one of ", absl::StrJoin(choices, ", ")));
        }
        std::invoke(field, config) = std::string(text);
        return absl::OkStatus();
      }};
}

// A file path (unset by default): the file is read and parsed at startup,
// and the field holds what `parse` made of it; unset, the field's default.
template <typename Field, typename Parse>
Setting File(std::string_view flag, std::string_view env, Field field, Parse parse,
             std::string_view help) {
  return Setting{flag,
                 env,
                 "",
                 help,
                 Secret::kNo,
                 false,
                 [field, parse](std::string_view path, Config& config) -> absl::Status {
                   if (path.empty()) {
                     std::invoke(field, config) = FieldType<Field>();
                     return absl::OkStatus();
                   }
                   absl::StatusOr<std::string> text = ReadFile(path);
                   if (!text.ok()) {
                     return text.status();
                   }
                   auto parsed = parse(*std::move(text));
                   if (!parsed.ok()) {
                     return parsed.status();
                   }
                   std::invoke(field, config) = *std::move(parsed);
                   return absl::OkStatus();
                 }};
}

std::vector<Setting> MakeSettings() {
  using std::chrono::milliseconds;
  return {
      Integer("port", "PORT", "3001", &Config::port, 0, 65535,
              "HTTP port for Socket.IO, the HTTP API, health and metrics; 0 picks a free one."),
      Integer("grpc_port", "GRPC_PORT", "50051", &Config::grpc_port, 0, 65535,
              "gRPC port (control plane, reflection, grpc.health.v1); 0 picks a free one."),
      Text("tls_cert_file", "ROOMCAST_TLS_CERT_FILE", "", &Config::tls_cert_file,
           "PEM certificate chain: with --tls_key_file, TLS on the HTTP port (HTTPS, wss) and "
           "the gRPC port; re-read when its contents change."),
      Text("tls_key_file", "ROOMCAST_TLS_KEY_FILE", "", &Config::tls_key_file,
           "PEM private key of --tls_cert_file."),
      Text("tls_client_ca_file", "ROOMCAST_TLS_CLIENT_CA_FILE", "", &Config::tls_client_ca_file,
           "PEM CA certificates: gRPC clients must present a certificate they signed (mTLS); "
           "browsers on the HTTP port need none."),
      Integer("tls_reload_interval_s", "ROOMCAST_TLS_RELOAD_INTERVAL_S", "10",
              &Config::tls_reload_interval, 1, 3600,
              "How often the TLS files are checked for new contents, in seconds; a bad new "
              "pair keeps the old one."),
      Setting{"host", "ROOMCAST_HOST", "",
              "Address to bind. Unset: HOSTNAME when it is an IP literal (container hostnames "
              "are ignored), else `::`, dual-stack (IPv4 and IPv6).",
              Secret::kNo, false,
              [](std::string_view text, Config& config) -> absl::Status {
                if (!text.empty() && !IsIpLiteral(text)) {
                  return absl::InvalidArgumentError("not an IP address");
                }
                config.host = std::string(text);
                return absl::OkStatus();
              }},
      Text("internal_api_key", "INTERNAL_API_KEY", "", &Config::internal_api_key,
           "Key every control call must carry (`authorization: Bearer <key>` or `x-api-key`); "
           "health and metrics stay open. Comma-separated for several (named env-1, env-2, ... "
           "in logs and metrics).",
           Secret::kYes),
      Setting{"api_keys_file", "ROOMCAST_API_KEYS_FILE", "",
              "File of `name:key` lines (# comments): more internal API keys, re-read when it "
              "changes; a bad new file keeps the old keys. The name shows in logs and metrics.",
              Secret::kNo, false,
              [](std::string_view path, Config& config) -> absl::Status {
                config.api_keys_file = std::string(path);
                config.api_keys.clear();
                if (path.empty()) {
                  return absl::OkStatus();
                }
                absl::StatusOr<std::string> text = ReadFile(path);
                if (!text.ok()) {
                  return text.status();
                }
                absl::StatusOr<std::vector<auth::NamedKey>> keys = auth::ParseKeysFile(*text);
                if (!keys.ok()) {
                  return keys.status();
                }
                config.api_keys = *std::move(keys);  // INTERNAL_API_KEY's join them later.
                return absl::OkStatus();
              }},
      Integer("api_keys_reload_interval_s", "ROOMCAST_API_KEYS_RELOAD_INTERVAL_S", "5",
              &Config::api_keys_reload_interval, 1, 3600,
              "How often the API keys file is checked for new contents, in seconds."),
      Text("database_url", "DATABASE_URL", "", &Config::database_url,
           "PostgreSQL URL (postgresql://user:pass@host:port/db); checked by /api/health.",
           Secret::kYes),
      Setting{"redis_url", "REDIS_URL", "",
              "Redis (redis[s]://[user:password@]host:port[/db]): many nodes act as one, "
              "and Socket.IO's redis-emitter reaches this node's browsers.",
              Secret::kYes, false,
              [](std::string_view text, Config& config) -> absl::Status {
                if (!text.empty()) {
                  if (absl::StatusOr<broker::RedisAddress> address = broker::ParseRedisUrl(text);
                      !address.ok()) {
                    return address.status();
                  }
                }
                config.redis_url = std::string(text);
                return absl::OkStatus();
              }},
      Text("redis_prefix", "ROOMCAST_REDIS_PREFIX", "socket.io", &Config::redis_prefix,
           "Prefix of every Redis key and channel (the same as the Socket.IO adapter's and "
           "emitter's `key`)."),
      Switch("socketio_redis_compat", "ROOMCAST_SOCKETIO_REDIS_COMPAT",
             &Config::socketio_redis_compat,
             "With Redis: also publish every emit in @socket.io/redis-adapter's format, so "
             "Node.js socket.io servers on that adapter share rooms with this cluster."),
      Integer("cluster_heartbeat_ms", "ROOMCAST_CLUSTER_HEARTBEAT_MS", "5000",
              &Config::cluster_heartbeat, 100, 600000,
              "With Redis: how often a node reports itself; one silent for three heartbeats "
              "leaves the cluster's Status."),
      Switch("insecure", "ROOMCAST_INSECURE", &Config::insecure,
             "Allow NODE_ENV=production without INTERNAL_API_KEY or a browser secret."),
      Text(
          "jwt_secret", "JWT_SECRET", "", [](Config & c) -> auto& { return c.auth.jwt.secret; },
          "HS256/384/512 secret: browsers must connect with a token signed with it (auth.token "
          "or Authorization: Bearer).",
          Secret::kYes),
      File(
          "jwt_public_key_file", "ROOMCAST_JWT_PUBLIC_KEY_FILE",
          [](Config & c) -> auto& { return c.auth.jwt.public_key_pem; },
          [](std::string text) -> absl::StatusOr<std::string> { return text; },
          "PEM public key for RS256/ES256 tokens."),
      Integer(
          "jwt_leeway_s", "ROOMCAST_JWT_LEEWAY_S", "60",
          [](Config & c) -> auto& { return c.auth.jwt.leeway; }, 0, kNoMax,
          "Clock skew allowed on exp/nbf, in seconds."),
      Text(
          "jwt_issuer", "ROOMCAST_JWT_ISSUER", "",
          [](Config & c) -> auto& { return c.auth.jwt.issuer; },
          "Required `iss` of tokens, if set."),
      Text(
          "jwt_audience", "ROOMCAST_JWT_AUDIENCE", "",
          [](Config & c) -> auto& { return c.auth.jwt.audience; },
          "Required `aud` of tokens, if set."),
      Text(
          "jwks_url", "ROOMCAST_JWKS_URL", "", [](Config & c) -> auto& { return c.auth.jwks.url; },
          "http(s) URL of a JWKS (an identity provider's keys): RS*/PS*/ES* tokens verify with "
          "the key their `kid` names."),
      Integer(
          "jwks_refresh_s", "ROOMCAST_JWKS_REFRESH_S", "300",
          [](Config & c) -> auto& { return c.auth.jwks.refresh; }, 1, 86400,
          "How long JWKS keys are used when the response has no Cache-Control max-age, in "
          "seconds."),
      Integer(
          "jwks_min_refresh_s", "ROOMCAST_JWKS_MIN_REFRESH_S", "30",
          [](Config & c) -> auto& { return c.auth.jwks.min_refresh; }, 1, 86400,
          "Shortest JWKS max-age taken, retry after a failed fetch, and how often an unknown "
          "`kid` may refetch, in seconds."),
      Text(
          "nextauth_secret", "NEXTAUTH_SECRET", "",
          [](Config & c) -> auto& { return c.auth.nextauth_secret; },
          "NextAuth v4 / Auth.js v5 secret: a same-site browser is authenticated by its session "
          "cookie.",
          Secret::kYes),
      List("public_namespaces", "ROOMCAST_PUBLIC_NAMESPACES", "", &Config::public_namespaces,
           "Comma-separated namespaces anyone may connect to when authentication is on."),
      File(
          "room_policy", "ROOMCAST_ROOM_POLICY", &Config::room_policy,
          [](const std::string& text) { return auth::RoomPolicy::FromJson(text); },
          "JSON file {\"allow\": [patterns]} of rooms authenticated browsers may join "
          "themselves (`user:{sub}`, `org:{claims.org}:*`, `public:*`); a token's `rooms` "
          "claim adds more. Unset: only `user:{sub}`."),
      Integer("idempotency_window_ms", "ROOMCAST_IDEMPOTENCY_WINDOW_MS", "300000",
              &Config::idempotency_window, 1, kNoMax,
              "How long an emit's idempotency key is remembered."),
      Setting{"memory_soft_limit_mb", "ROOMCAST_MEMORY_SOFT_LIMIT_MB", "0",
              "Resident memory over which health reports DEGRADED; 0 = no limit.", Secret::kNo,
              false,
              [](std::string_view text, Config& config) -> absl::Status {
                absl::StatusOr<int64_t> mb = ParseInteger(text, 0, int64_t{1} << 40);
                if (!mb.ok()) {
                  return mb.status();
                }
                config.memory_soft_limit_bytes = static_cast<size_t>(*mb) << 20;
                return absl::OkStatus();
              }},
      Integer("health_interval_ms", "ROOMCAST_HEALTH_INTERVAL_MS", "2000", &Config::health_interval,
              1, kNoMax, "How often health checks run in the background (for grpc.health.v1)."),
      Text("node_env", "NODE_ENV", "development", &Config::node_env,
           "Deployment mode; `production` tightens the CORS default and requires "
           "INTERNAL_API_KEY and a browser secret (or --insecure)."),
      Text("cors_origin", "CORS_ORIGIN", "", &Config::cors_origin,
           "Comma-separated browser origins allowed on /socket.io/, or `*`. Unset: any origin, "
           "except in production where only non-browser clients are."),
      List("namespaces", "ROOMCAST_NAMESPACES", "/", &Config::namespaces,
           "Comma-separated Socket.IO namespaces clients may connect to.",
           [](std::string_view nsp) {
             return nsp.front() == '/' ? absl::OkStatus()
                                       : absl::InvalidArgumentError(absl::StrCat(
                                             "namespace '", ToAbsl(nsp), "' must start with '/'"));
           }),
      Integer("ping_interval_ms", "ROOMCAST_PING_INTERVAL_MS", "25000", &Config::ping_interval, 1,
              kNoMax, "Engine.IO pingInterval."),
      Integer("ping_timeout_ms", "ROOMCAST_PING_TIMEOUT_MS", "20000", &Config::ping_timeout, 1,
              kNoMax, "Engine.IO pingTimeout: no pong by then closes the session."),
      Integer("upgrade_timeout_ms", "ROOMCAST_UPGRADE_TIMEOUT_MS", "10000",
              &Config::upgrade_timeout, 1, kNoMax, "Time a polling -> WebSocket upgrade may take."),
      Integer("connect_timeout_ms", "ROOMCAST_CONNECT_TIMEOUT_MS", "45000",
              &Config::connect_timeout, 1, kNoMax,
              "Time a client has to connect a namespace after the handshake."),
      Integer("max_http_buffer_size", "ROOMCAST_MAX_HTTP_BUFFER_SIZE", "1000000",
              &Config::max_http_buffer_size, 1, kNoMax,
              "Largest polling POST body / WebSocket message in bytes (maxHttpBufferSize)."),
      Integer("http_compression_threshold", "ROOMCAST_HTTP_COMPRESSION_THRESHOLD", "1024",
              &Config::http_compression_threshold, 0, kNoMax,
              "Polling responses of this many bytes or more are sent gzip- or "
              "deflate-compressed when the client accepts it (engine.io's httpCompression). "
              "0 = never."),
      Integer("send_queue_bytes", "ROOMCAST_SEND_QUEUE_BYTES", "8388608", &Config::send_queue_bytes,
              1, kNoMax,
              "Bytes queued for one client before it counts as too slow and is disconnected."),
      Integer("max_rooms_per_socket", "ROOMCAST_MAX_ROOMS_PER_SOCKET", "1000",
              &Config::max_rooms_per_socket, 1, kNoMax,
              "Rooms one socket may be in (its own id room aside)."),
      Choice("event_log", "ROOMCAST_EVENT_LOG", "", &Config::event_log,
             {"", "memory", "redis", "postgres"},
             "Where events are numbered and kept for history and recovery: `memory` (the "
             "default without REDIS_URL), `redis` (the default with it) or `postgres` "
             "(durable; needs DATABASE_URL)."),
      Integer("event_log_size", "ROOMCAST_EVENT_LOG_SIZE", "1000", &Config::event_log_size, 0,
              kNoMax, "Events the log keeps per namespace for history and recovery (0 = none)."),
      Integer("history_retention_s", "ROOMCAST_HISTORY_RETENTION_S", "604800",
              &Config::history_retention, 1, kNoMax,
              "Age after which logged events are pruned (in the background)."),
      Integer("recovery_window_ms", "ROOMCAST_RECOVERY_WINDOW_MS", "0", &Config::recovery_window, 0,
              kNoMax,
              "Connection state recovery: how long a session that dropped unexpectedly is kept "
              "for its client to resume it (same id, rooms, and every missed event). 0 = off, "
              "as in Socket.IO; on, every logged event carries its offset as an extra last "
              "argument."),
      Integer("max_connections", "ROOMCAST_MAX_CONNECTIONS", "0", &Config::max_connections, 0,
              kNoMax,
              "Browser connections (Engine.IO sessions) at once; more get HTTP 503. 0 = what "
              "the open-file limit allows (raised to its hard limit at startup): the limit less "
              "a reserve of max(1000, 5 %) for everything else, a third of that with TLS (three "
              "descriptors a connection)."),
      Integer("max_connections_per_ip", "ROOMCAST_MAX_CONNECTIONS_PER_IP", "1000",
              &Config::max_connections_per_ip, 0, kNoMax,
              "Connections from one public client address (see "
              "`--limit_private_addresses`). 0 = no limit."),
      Integer("handshakes_per_ip_per_s", "ROOMCAST_HANDSHAKES_PER_IP_PER_S", "100",
              &Config::handshakes_per_ip_per_s, 0, kNoMax,
              "New connections per second from one public client address (bursts of 4x). 0 = "
              "no limit."),
      Switch("limit_private_addresses", "ROOMCAST_LIMIT_PRIVATE_ADDRESSES",
             &Config::limit_private_addresses,
             "Apply the per-address limits to loopback and private clients (10/8, 172.16/12, "
             "192.168/16, 100.64/10, link-local, fc00::/7) too. Off: those are where proxies, "
             "load balancers and sidecars connect from, each carrying many browsers; name them "
             "in `--trusted_proxies` to limit the browsers behind them by address."),
      List("trusted_proxies", "ROOMCAST_TRUSTED_PROXIES", "", &Config::trusted_proxies,
           "Comma-separated proxy addresses or CIDR blocks (10.0.0.0/8) whose "
           "X-Forwarded-For names the client.",
           [](std::string_view proxy) {
             return net::AddressRange::Parse(proxy)
                        ? absl::OkStatus()
                        : absl::InvalidArgumentError(absl::StrCat(
                              "'", ToAbsl(proxy), "' is not an IP address or CIDR block"));
           }),
      Integer("max_unattached_connections", "ROOMCAST_MAX_UNATTACHED_CONNECTIONS", "0",
              &Config::max_unattached_connections, 0, kNoMax,
              "TCP connections not yet part of a session (before their first request reaches "
              "one; HTTP API callers' count too), over all addresses; more are closed at once. "
              "0 = what the sessions leave: both together within `--max_connections` plus half "
              "the open-file reserve (after a restart all may arrive at once)."),
      Integer("max_unattached_connections_per_ip", "ROOMCAST_MAX_UNATTACHED_CONNECTIONS_PER_IP",
              "256", &Config::max_unattached_connections_per_ip, 0, kNoMax,
              "The same from one public peer address. 0 = no limit."),
      Integer("http_header_timeout_ms", "ROOMCAST_HTTP_HEADER_TIMEOUT_MS", "10000",
              &Config::http_header_timeout, 1, kNoMax,
              "Time from a connection's accept, or a kept-alive request's first byte, until its "
              "headers are in; slower senders are cut off."),
      Integer("http_idle_timeout_ms", "ROOMCAST_HTTP_IDLE_TIMEOUT_MS", "60000",
              &Config::http_idle_timeout, 1, kNoMax,
              "Time a kept-alive HTTP connection may wait for its next request (and a request "
              "body may take)."),
      Integer("client_events_per_s", "ROOMCAST_CLIENT_EVENTS_PER_S", "100",
              &Config::client_events_per_s, 0, kNoMax,
              "Events one socket may send per second (bursts of 2x); more are refused with a "
              "`limit` ack. 0 = no limit."),
      Integer("client_ack_timeout_ms", "ROOMCAST_CLIENT_ACK_TIMEOUT_MS", "10000",
              &Config::client_ack_timeout, 1, kNoMax,
              "How long a browser's ack waits for a service (stream or webhook); then its "
              "callback gets a `timeout` error."),
      Integer("client_event_stream_buffer_bytes", "ROOMCAST_CLIENT_EVENT_STREAM_BUFFER_BYTES",
              "8388608", &Config::client_event_stream_buffer_bytes, 1024, kNoMax,
              "Client events one ReceiveClientEvents stream may have waiting, in bytes; a "
              "consumer further behind is cut with RESOURCE_EXHAUSTED."),
      Text("client_events_webhook", "ROOMCAST_CLIENT_EVENTS_WEBHOOK", "",
           &Config::client_events_webhook,
           "http(s) URL each client event no stream takes is POSTed to, signed; its "
           "`{\"ack\":[...]}` answers the browser."),
      Text("webhook_secret", "ROOMCAST_WEBHOOK_SECRET", "", &Config::webhook_secret,
           "Key of the webhook's x-roomcast-signature (HMAC-SHA256); default INTERNAL_API_KEY.",
           Secret::kYes),
      Integer("webhook_concurrency", "ROOMCAST_WEBHOOK_CONCURRENCY", "64",
              &Config::webhook_concurrency, 1, kNoMax, "Webhook requests in flight at once."),
      Integer("webhook_queue", "ROOMCAST_WEBHOOK_QUEUE", "10000", &Config::webhook_queue, 0, kNoMax,
              "Client events waiting for a webhook request; more are answered `unavailable`."),
      Integer("max_attachments", "ROOMCAST_MAX_ATTACHMENTS", "10", &Config::max_attachments, 0,
              1000,
              "Binary attachments one Socket.IO packet may carry; more close the connection."),
      Integer("max_emit_bytes", "ROOMCAST_MAX_EMIT_BYTES", "1000000", &Config::max_emit_bytes, 1,
              kNoMax, "Largest event data a service may emit, in bytes."),
      Integer("max_batch_size", "ROOMCAST_MAX_BATCH_SIZE", "1000", &Config::max_batch_size, 1,
              kNoMax, "Most emits in one EmitBatch."),
      Integer("shards", "ROOMCAST_SHARDS", "0", &Config::shards, 0, 64,
              "Event-loop threads; 0 = one per core."),
      Integer("drain_grace_ms", "ROOMCAST_DRAIN_GRACE_MS", "2000", &Config::drain_grace, 0, kNoMax,
              "On SIGTERM, time between turning /readyz to 503 and closing the listener, for "
              "load balancers to notice."),
      Integer("drain_deadline_ms", "ROOMCAST_DRAIN_DEADLINE_MS", "10000", &Config::drain_deadline,
              1, kNoMax, "On SIGTERM, time after which the process exits whatever is left."),
      Switch("enable_client_broadcast", "ROOMCAST_ENABLE_CLIENT_BROADCAST",
             &Config::enable_client_broadcast,
             "Let clients send the `broadcast` event (fan-out to rooms): for tests and "
             "debugging only."),
      Text("admin_username", "ROOMCAST_ADMIN_USERNAME", "", &Config::admin_username,
           "Socket.IO Admin UI login name; with ROOMCAST_ADMIN_PASSWORD_HASH it turns on the "
           "`/admin` namespace and the UI at /admin/."),
      Setting{"admin_password_hash", "ROOMCAST_ADMIN_PASSWORD_HASH", "",
              "bcrypt hash ($2b$/$2a$/$2y$) of the Admin UI password.", Secret::kYes, false,
              [](std::string_view text, Config& config) -> absl::Status {
                if (!text.empty()) {
                  if (absl::Status status = auth::CheckBcryptHash(text); !status.ok()) {
                    return status;
                  }
                }
                config.admin_password_hash = std::string(text);
                return absl::OkStatus();
              }},
      Text("admin_ui_dir", "ROOMCAST_ADMIN_UI_DIR", "", &Config::admin_ui_dir,
           "Directory of the Admin UI's files (@socket.io/admin-ui's ui/dist). Unset: "
           "`admin-ui` beside roomcastd, else ../share/roomcast/admin-ui from it."),
      Choice("log_level", "LOG_LEVEL", "info", &Config::log_level,
             {"trace", "debug", "info", "warn", "error"}, "Log threshold."),
      Choice("log_format", "LOG_FORMAT", "text", &Config::log_format, {"text", "json"},
             "`text`, or `json` for one JSON object per line."),
  };
}

}  // namespace

bool IsIpLiteral(std::string_view text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(text), ec);
  return !ec;
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = MakeSettings();
  return settings;
}

Config DefaultConfig() {
  Config config;
  for (const Setting& setting : Settings()) {
    // The defaults are the table's own: they parse, or the build is broken.
    if (!setting.apply(setting.fallback, config).ok()) {
      std::abort();
    }
  }
  return config;
}

std::string SettingName(const Setting& setting) {
  return absl::StrCat("--", ToAbsl(setting.flag), " (", ToAbsl(setting.env), ")");
}

std::string SettingsHelp() {
  std::string text =
      "Roomcast real-time event gateway (Socket.IO v5 / Engine.IO v4 server).\n"
      "Usage: roomcastd [--flag=value ...]\n"
      "Every flag can also be set by the environment variable named beside it; a flag wins\n"
      "over its variable, and an empty variable counts as unset.\n\n";
  for (const Setting& setting : Settings()) {
    absl::StrAppend(&text, "  --", ToAbsl(setting.flag), " (", ToAbsl(setting.env), ")",
                    setting.fallback.empty() ? "" : " default: ", ToAbsl(setting.fallback),
                    setting.secret == Secret::kYes ? " [secret]" : "", "\n      ",
                    ToAbsl(setting.help), "\n");
  }
  return text;
}

}  // namespace roomcast::app
