#include "server/app/server.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "server/app/jwks_check.h"
#include "server/app/redis_check.h"
#include "server/base/ids.h"
#include "server/broker/local_broker.h"
#include "server/broker/redis_session_store.h"
#include "server/core/room_command.h"
#include "server/net/address_range.h"
#include "server/net/session_listeners.h"
#include "server/observe/postgres_check.h"
#include "server/storage/memory_session_store.h"
#include "server/storage/postgres_event_store.h"

namespace roomcast::app {
namespace {

constexpr char kServiceName[] = "roomcast.v1.Roomcast";

net::CorsPolicy CorsFor(const Config& config) {
  if (!config.cors_origin.empty()) {
    return net::CorsPolicy::Parse(config.cors_origin);
  }
  // Unset: any origin while developing; in production only non-browser clients.
  return config.production ? net::CorsPolicy::Only({}) : net::CorsPolicy::ReflectAny();
}

net::ConnectionLimitOptions LimitsFor(const Config& config) {
  net::ConnectionLimitOptions options;
  options.max_connections = config.max_connections;
  options.max_connections_per_ip = config.max_connections_per_ip;
  options.handshakes_per_ip_per_s = config.handshakes_per_ip_per_s;
  for (const std::string& proxy : config.trusted_proxies) {
    options.trusted_proxies.push_back(*net::AddressRange::Parse(proxy));  // Checked by its setting.
  }
  options.limit_private_addresses = config.limit_private_addresses;
  return options;
}

net::HttpRules HttpRulesFor(const Config& config, base::Counters& counters) {
  net::HttpRules rules;
  rules.body_limit = config.max_http_buffer_size;
  rules.header_timeout = config.http_header_timeout;
  rules.idle_timeout = config.http_idle_timeout;
  rules.counters = &counters;
  return rules;
}

std::string HostPort(const std::string& host, uint16_t port) {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

// INTERNAL_API_KEY's keys (env-1, ...), then the keys file's.
std::vector<auth::NamedKey> AllApiKeys(const Config& config) {
  std::vector<auth::NamedKey> keys = auth::KeysFromList(config.internal_api_key);
  keys.insert(keys.end(), config.api_keys.begin(), config.api_keys.end());
  return keys;
}

std::string NodeId() {
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  return absl::StrCat(hostname, "-", base::NewId().substr(0, 6));
}

std::vector<std::unique_ptr<observe::HealthCheck>> HealthChecks(
    const Config& config, const broker::RedisBroker* redis,
    const auth::Authenticator* authenticator) {
  std::vector<std::unique_ptr<observe::HealthCheck>> checks;
  if (authenticator != nullptr && authenticator->jwks()) {
    checks.push_back(std::make_unique<JwksCheck>(authenticator->jwks()));
  }
  if (redis != nullptr) {
    checks.push_back(std::make_unique<RedisCheck>(*redis));
  }
  if (!config.database_url.empty()) {
    checks.push_back(std::make_unique<storage::PostgresCheck>(config.database_url));
  }
  checks.push_back(std::make_unique<observe::MemoryCheck>(config.memory_soft_limit_bytes));
  checks.push_back(std::make_unique<observe::UptimeCheck>());
  return checks;
}

// Where the Admin UI's files are: the setting, else beside the binary, else
// the install prefix's share/ (as CMake and the image lay them out).
std::string AdminUiDir(const Config& config) {
  if (!config.admin_ui_dir.empty()) {
    return config.admin_ui_dir;
  }
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    return {};
  }
  for (const std::filesystem::path& dir :
       {exe.parent_path() / "admin-ui", exe.parent_path() / "../share/roomcast/admin-ui"}) {
    if (std::filesystem::is_directory(dir, error)) {
      return dir.lexically_normal().string();
    }
  }
  return {};
}

// Put into the UI's index.html: a page with no server chosen yet connects
// to the one it came from.
constexpr std::string_view kAdminUiConfig =
    "<script>try{localStorage.getItem(\"server_url\")||"
    "localStorage.setItem(\"server_url\",location.origin)}catch(e){}</script>";

}  // namespace

std::unique_ptr<core::EventStore> Server::MakeEventLog() {
  if (config_.event_log == "redis") {
    return nullptr;  // The broker's stream.
  }
  if (config_.event_log == "postgres") {
    storage::PostgresLogOptions options;
    options.url = config_.database_url;
    options.capacity = config_.event_log_size;
    options.retention = config_.history_retention;
    options.idempotency_window = config_.idempotency_window;
    absl::StatusOr<std::unique_ptr<storage::PostgresEventStore>> log =
        storage::PostgresEventStore::Open(std::move(options));
    if (log.ok()) {
      postgres_ = log->get();
      return *std::move(log);
    }
    startup_error_ = log.status();  // Start() reports it; the memory log stands in until then.
  }
  return std::make_unique<storage::MemoryEventStore>(config_.event_log_size,
                                                     config_.history_retention);
}

std::unique_ptr<core::Broker> Server::MakeBroker() {
  core::NodeStatus self = core::NodeStatus::Named(node_id_, ROOMCAST_VERSION);
  if (config_.redis_url.empty()) {
    return std::make_unique<broker::LocalBroker>(*event_log_, std::move(self));
  }
  broker::RedisBrokerOptions options;
  options.address = *broker::ParseRedisUrl(config_.redis_url);  // Checked by LoadConfig.
  options.prefix = config_.redis_prefix;
  options.namespaces = config_.namespaces;
  options.socketio_compat = config_.socketio_redis_compat;
  options.self = std::move(self);
  options.log_size = std::max<size_t>(config_.event_log_size, 1);
  options.retention = config_.history_retention;
  options.idempotency_window = config_.idempotency_window;
  options.heartbeat_interval = config_.cluster_heartbeat;
  options.node_ttl = 3 * config_.cluster_heartbeat;
  options.external_log = event_log_.get();
  auto redis = std::make_unique<broker::RedisBroker>(std::move(options), counters_);
  redis_ = redis.get();
  return redis;
}

std::unique_ptr<core::SessionStore> Server::MakeSessionStore() {
  if (config_.recovery_window.count() == 0) {
    return nullptr;
  }
  if (redis_ != nullptr) {
    return std::make_unique<broker::RedisSessionStore>(*redis_, config_.recovery_window);
  }
  return std::make_unique<storage::MemorySessionStore>(*event_log_, config_.recovery_window);
}

core::EventReader& Server::history() {
  if (event_log_ != nullptr) {
    return *event_log_;
  }
  return *redis_;
}

std::unique_ptr<control::WebhookPoster> Server::MakeWebhook() {
  if (config_.client_events_webhook.empty()) {
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<control::WebhookPoster>> webhook = control::WebhookPoster::Create(
      control::WebhookOptions{config_.client_events_webhook, config_.webhook_secret,
                              config_.client_ack_timeout, config_.webhook_concurrency,
                              config_.webhook_queue},
      counters_);
  if (!webhook.ok()) {
    startup_error_ = webhook.status();
    return nullptr;
  }
  return *std::move(webhook);
}

Server::Server(Config config)
    : config_(std::move(config)),
      node_id_(NodeId()),
      event_log_(MakeEventLog()),
      broker_(MakeBroker()),
      sessions_(MakeSessionStore()),
      recovery_(sessions_ ? std::make_unique<socketio::Recovery>(*sessions_, history(),
                                                                 config_.event_log_size)
                          : nullptr),
      limits_(LimitsFor(config_), counters_),
      unattached_(
          net::UnattachedConnectionOptions{
              .max_total = config_.max_unattached_connections,
              .budget = config_.max_unattached_connections == 0 ? config_.connection_budget : 0,
              .max_per_ip = config_.max_unattached_connections_per_ip,
              .limit_private_addresses = config_.limit_private_addresses},
          counters_),
      http_(config_.shards, HttpRulesFor(config_, counters_)),
      emitter_(http_.shards(), *broker_, counters_),
      webhook_(MakeWebhook()),
      client_events_(control::ClientEventHub::Options{node_id_, config_.client_ack_timeout,
                                                      /*cluster=*/redis_ != nullptr},
                     *broker_, timers_, counters_, webhook_.get()),
      authenticator_(config_.auth.enabled() ? *auth::Authenticator::Create(config_.auth) : nullptr),
      room_events_(emitter_, counters_,
                   rooms::RoomEvents::Options{config_.max_rooms_per_socket,
                                              config_.enable_client_broadcast, authenticator_.get(),
                                              config_.public_namespaces, config_.room_policy,
                                              config_.client_events_per_s, &client_events_}),
      metrics_(counters_),
      idempotency_(config_.idempotency_window),
      api_keys_(AllApiKeys(config_)) {
  if (!config_.api_keys_file.empty()) {
    api_keys_reloader_ = std::make_unique<control::ApiKeysReloader>(
        control::ApiKeysReloader::Options{config_.api_keys_file, config_.api_keys_reload_interval,
                                          auth::KeysFromList(config_.internal_api_key)},
        api_keys_, timers_, counters_);
  }
  for (const std::string& nsp : config_.namespaces) {
    namespaces_.Add(nsp, room_events_);
  }
  namespaces_.set_max_attachments(config_.max_attachments);
  namespaces_.set_recovery(recovery_.get());
  emitter_.set_offsets_on_wire(recovery_ != nullptr);
  net::EngineOptions options;
  options.protocol.ping_interval = config_.ping_interval;
  options.protocol.ping_timeout = config_.ping_timeout;
  options.protocol.upgrade_timeout = config_.upgrade_timeout;
  options.protocol.max_payload = config_.max_http_buffer_size;
  options.send_queue_bytes = config_.send_queue_bytes;
  options.keep_client_details = !config_.admin_username.empty();
  options.compression_threshold = config_.http_compression_threshold;
  socketio_ = std::make_unique<net::EngineEndpoint>(
      http_.shards(), options, CorsFor(config_),
      [this](net::EngineSession& session) {
        return std::make_unique<net::SocketIoListener>(session, namespaces_, counters_,
                                                       config_.connect_timeout);
      },
      counters_, &limits_);
  if (authenticator_ && authenticator_->jwks()) {
    // The URL was checked by LoadConfig; the first fetch starts now.
    jwks_ = *net::JwksFetcher::Create(authenticator_->jwks(), counters_);
  }
  health_ = std::make_unique<observe::HealthChecker>(
      HealthChecks(config_, redis_, authenticator_.get()), config_.health_interval,
      [this](const observe::HealthReport& report) { OnHealthReport(report); });
  api_ = std::make_unique<control::ControlApi>(
      control::ControlApi::Parts{emitter_, *broker_, http_.shards(), counters_, metrics_, *health_,
                                 idempotency_, history(), client_events_, timers_,
                                 config_.client_event_stream_buffer_bytes, config_.max_emit_bytes,
                                 config_.max_batch_size, config_.namespaces},
      control::NodeInfo{node_id_, ROOMCAST_VERSION});
  // What other nodes and Socket.IO emitters publish reaches this node's
  // sockets like a local emit.
  broker_->SetHandlers(core::Broker::Handlers{
      [this](const std::shared_ptr<const core::Event>& event) { emitter_.DeliverPublished(event); },
      [this](core::RoomCommand command) {
        core::ApplyRoomCommand(http_.shards(), std::move(command), [](uint64_t) {});
      },
      [this](const std::string& request, absl::AnyInvocable<void(std::string) &&> answer) {
        api_->AnswerNode(request, std::move(answer));
      },
      [this](std::string nsp, std::vector<std::string> targets, std::vector<std::string> except,
             absl::AnyInvocable<void(std::vector<core::SocketSummary>) &&> done) {
        core::FindSockets(http_.shards(), std::move(nsp), std::move(targets), std::move(except),
                          std::move(done));
      }});
  if (redis_ != nullptr) {
    for (size_t i = 0; i < http_.shards().size(); ++i) {
      http_.shards()[i].rooms().set_interest(&redis_->interest());
    }
    redis_->SetLoadProbe([this](absl::AnyInvocable<void(core::NodeLoad) &&> done) {
      api_->LocalStatus(0, [done = std::move(done)](const v1::StatusResponse& status) mutable {
        std::move(done)(control::LoadOf(status));
      });
    });
  }
  if (!config_.admin_username.empty()) {
    char hostname[256] = {};
    gethostname(hostname, sizeof(hostname) - 1);
    control::AdminHub::Options admin;
    admin.login.username = config_.admin_username;
    admin.login.password_hash = config_.admin_password_hash;
    admin.server_id = node_id_;
    admin.hostname = hostname;
    admin.cluster = redis_ != nullptr;
    admin_ = std::make_unique<control::AdminHub>(std::move(admin), http_.shards(), emitter_,
                                                 *broker_, *api_, timers_, counters_);
    namespaces_.Add(std::string(control::kAdminNamespace), *admin_);
    namespaces_.set_observer(admin_.get());
    api_->set_admin(admin_.get());
    if (const std::string dir = AdminUiDir(config_); !dir.empty()) {
      absl::StatusOr<std::unique_ptr<net::StaticFiles>> files =
          net::StaticFiles::Load(dir, "/admin/", kAdminUiConfig);
      if (files.ok()) {
        admin_ui_ = *std::move(files);
      } else if (!config_.admin_ui_dir.empty()) {
        startup_error_ = absl::InvalidArgumentError(
            absl::StrCat("ROOMCAST_ADMIN_UI_DIR: ", files.status().message()));
      }
    }
  }
  grpc_service_ = std::make_unique<control::GrpcService>(*api_, api_keys_);
  gateway_ = std::make_unique<control::HttpGateway>(
      *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Roomcast::service_full_name()),
      *api_, api_keys_);
}

Server::~Server() {
  if (redis_ != nullptr) {
    redis_->Stop();  // Its thread delivers into the shards and answers control calls.
  }
  timers_.Stop();  // Its tasks use the hub, the API and the shards.
  if (postgres_ != nullptr) {
    postgres_->Stop();  // Its threads answer emits, which deliver into the shards.
  }
  health_.reset();  // Its thread reports to the gRPC server: stop it first.
  if (grpc_server_) {
    grpc_server_->Shutdown(std::chrono::system_clock::now());
  }
}

void Server::AddRoutes() {
  net::Router& router = http_.router();
  router.AddPrefix("/socket.io/", *socketio_);
  if (admin_ui_ != nullptr) {
    router.AddPrefix("/admin/", *admin_ui_);
    router.AddExact("/admin", [](const net::Request& request) {
      net::Response response =
          net::MakeResponse(request, net::http::status::moved_permanently, "", "text/plain");
      response.set(net::http::field::location, "/admin/");
      return response;
    });
  }
  for (const std::string& path : gateway_->Paths()) {
    router.AddExact(path, *gateway_);
  }
  router.AddExact("/healthz", [](const net::Request& request) {
    return net::JsonResponse(request, net::http::status::ok, R"({"status":"ok"})");
  });
  router.AddExact("/readyz", [this](const net::Request& request) {
    return draining_ ? net::JsonResponse(request, net::http::status::service_unavailable,
                                         R"({"status":"draining"})")
                     : net::JsonResponse(request, net::http::status::ok, R"({"status":"ready"})");
  });
  router.AddExact("/metrics", [this](const net::Request& request) {
    return net::MakeResponse(request, net::http::status::ok, metrics_.Scrape(),
                             "text/plain; version=0.0.4; charset=utf-8");
  });
}

absl::Status Server::StartTls() {
  if (config_.tls_cert_file.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<TlsReloader>> tls = TlsReloader::Create(config_, counters_);
  if (!tls.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("TLS: ", tls.status().message()));
  }
  tls_ = *std::move(tls);
  http_.EnableTls(&tls_->http());
  ScheduleTlsCheck();
  spdlog::info("app: TLS on the HTTP and gRPC ports grpc_client_certificates={} reload_s={}",
               config_.tls_client_ca_file.empty() ? "none" : "required",
               config_.tls_reload_interval.count());
  return absl::OkStatus();
}

void Server::ScheduleTlsCheck() {
  timers_.RunAt(control::TimerThread::Clock::now() + config_.tls_reload_interval, [this] {
    tls_->Check();
    ScheduleTlsCheck();
  });
}

absl::Status Server::StartGrpc() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(HostPort(config_.host, config_.grpc_port),
                           tls_ ? tls_->GrpcCredentials() : grpc::InsecureServerCredentials(),
                           &selected_port);
  builder.RegisterService(grpc_service_.get());
  // gRPC shares ports by default (SO_REUSEPORT): a busy port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A ReceiveClientEvents consumer whose host vanished without a FIN would keep
  // taking its group's share of events: pings find it within 40 s, and keep
  // idle streams alive through proxies that cut silent connections.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || selected_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", HostPort(config_.host, config_.grpc_port)));
  }
  grpc_port_ = static_cast<uint16_t>(selected_port);
  grpc_server_->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  return absl::OkStatus();
}

void Server::OnHealthReport(const observe::HealthReport& report) {
  if (grpc_server_ && !draining_) {
    const bool serving = report.status != observe::Serving::kNotServing;
    grpc_server_->GetHealthCheckService()->SetServingStatus(kServiceName, serving);
    grpc_server_->GetHealthCheckService()->SetServingStatus(serving);
  }
}

absl::Status Server::Start() {
  if (!startup_error_.ok()) {
    return startup_error_;
  }
  if (absl::Status status = StartTls(); !status.ok()) {
    return status;
  }
  if (absl::Status status = StartGrpc(); !status.ok()) {
    return status;
  }
  AddRoutes();
  http_.LimitUnattached(&unattached_);
  if (absl::Status status = http_.Listen(config_.host, config_.port); !status.ok()) {
    return status;
  }
  http_.Start();
  if (redis_ != nullptr) {
    char hostname[256] = {};
    gethostname(hostname, sizeof(hostname) - 1);
    redis_->Start(HostPort(
        config_.host == "::" || config_.host == "0.0.0.0" ? hostname : config_.host, http_.port()));
  }
  client_events_.Start();
  if (api_keys_reloader_ != nullptr) {
    api_keys_reloader_->Start();
  }
  if (admin_ != nullptr) {
    admin_->Start();
    spdlog::info("app: admin ui namespace=/admin files={}",
                 admin_ui_ ? absl::StrCat(admin_ui_->size(), " at /admin/") : "none found");
  }
  spdlog::info(
      "app: roomcastd listening address={} port={} grpc_port={} shards={} namespaces={} "
      "database={} redis={} api_keys={} browser_auth={} max_connections={} "
      "max_unattached_connections={}",
      HostPort(config_.host, http_.port()), http_.port(), grpc_port_, config_.shards,
      config_.namespaces.size(), config_.database_url.empty() ? "none" : "configured",
      redis_ == nullptr ? "none" : broker::ParseRedisUrl(config_.redis_url)->Describe(),
      api_keys_.required() ? absl::StrCat(api_keys_.size(), " required") : "none",
      authenticator_ ? "required" : "anonymous", config_.max_connections,
      config_.max_unattached_connections > 0
          ? std::to_string(config_.max_unattached_connections)
          : absl::StrCat(config_.connection_budget, "-sessions"));
  return absl::OkStatus();
}

void Server::Drain() {
  const auto deadline = std::chrono::steady_clock::now() + config_.drain_deadline;
  draining_ = true;
  grpc_server_->GetHealthCheckService()->SetServingStatus(false);
  // Services reconnect their streams elsewhere; browsers waiting hear `unavailable`.
  client_events_.Drain();
  if (webhook_ != nullptr) {
    webhook_->Drain();
  }
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
  if (redis_ != nullptr) {
    // The sessions just suspended are written before the process exits.
    redis_->Sync(std::chrono::milliseconds(500));
  }
  grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  spdlog::info("app: drained sessions_opened={} sessions_closed={}",
               counters_.sessions_opened.load(), counters_.sessions_closed.load());
}

}  // namespace roomcast::app
