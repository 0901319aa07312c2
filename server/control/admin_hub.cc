#include "server/control/admin_hub.h"

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/base/clock.h"
#include "server/base/string_view.h"
#include "server/control/api.h"
#include "server/control/node_envelope.h"
#include "server/net/engine_session.h"
#include "server/socketio/socket.h"

namespace roomcast::control {
namespace {

constexpr std::string_view kEventsMethod = "AdminEvents";
constexpr std::string_view kStatsMethod = "AdminStats";
constexpr std::string_view kSocketsMethod = "AdminSockets";
// Notifications for other nodes wait this long to travel together.
constexpr auto kForwardDelay = std::chrono::milliseconds(200);
// More waiting than this (a storm of events) drops the newest.
constexpr size_t kMaxOutbox = 10000;
constexpr auto kSocketsTimeout = std::chrono::milliseconds(1000);

std::string Now() { return IsoTime(base::UnixMillis()); }

// Argument `i` of a UI command when it is a string.
std::optional<std::string> StringArg(const boost::json::array& args, size_t i) {
  if (i < args.size() && args[i].is_string()) {
    return std::string(args[i].as_string());
  }
  return std::nullopt;
}

// What one shard holds, for a report.
struct ShardFigures {
  uint64_t clients = 0;
  uint64_t polling = 0;
  std::vector<std::pair<std::string, uint64_t>> namespaces;
};

// Runs `work` on every shard's thread and hands the results to `done` (on
// the last shard to finish).
template <typename T>
void OnEveryShard(net::Shards& shards, std::function<T(net::Shard&)> work,
                  absl::AnyInvocable<void(std::vector<T>) &&> done) {
  struct Gather {
    absl::Mutex mutex;
    std::vector<T> results;
    size_t remaining;
    absl::AnyInvocable<void(std::vector<T>) &&> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->results.resize(shards.size());
  gather->remaining = shards.size();
  gather->done = std::move(done);
  for (size_t i = 0; i < shards.size(); ++i) {
    net::Shard& shard = shards[i];
    boost::asio::post(shard.io(), [gather, work, i, &shard] {
      T result = work(shard);
      bool last = false;
      {
        absl::MutexLock lock(&gather->mutex);
        gather->results[i] = std::move(result);
        last = --gather->remaining == 0;
      }
      if (last) {
        std::move(gather->done)(std::move(gather->results));
      }
    });
  }
}

}  // namespace

AdminHub::AdminHub(Options options, net::Shards& shards, core::Emitter& emitter,
                   core::Broker& broker, ControlApi& api, TimerThread& timers,
                   base::Counters& counters)
    : options_(std::move(options)),
      shards_(shards),
      emitter_(emitter),
      broker_(broker),
      api_(api),
      timers_(timers),
      counters_(counters),
      login_(options_.login) {}

AdminHub::~AdminHub() { counters_.admin_watching.store(false, std::memory_order_relaxed); }

void AdminHub::Start() {
  timers_.RunAt(std::chrono::steady_clock::now() + options_.stats_interval,
                [this, alive = std::weak_ptr<bool>(alive_)] {
                  if (!alive.expired()) {
                    Tick();
                  }
                });
}

bool AdminHub::Handles(std::string_view method) {
  return method == kEventsMethod || method == kStatsMethod || method == kSocketsMethod;
}

// --- The admin namespace ---------------------------------------------------

absl::Status AdminHub::Authorize(socketio::Socket& socket) {
  auto field = [&socket](std::string_view key) -> std::string_view {
    const boost::json::value* value = socket.auth().if_contains(key);
    return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                  : std::string_view();
  };
  const std::string& address = socket.handshake().address;
  absl::StatusOr<std::string> session =
      login_.Login(address, field("username"), field("password"), field("sessionId"));
  if (!session.ok()) {
    spdlog::warn("admin: login refused address={} reason={}", address,
                 ToStd(session.status().message()));
    return session.status();
  }
  if (!session->empty()) {
    spdlog::info("admin: login address={}", address);
    absl::MutexLock lock(&mutex_);
    new_sessions_[socket.id()] = *std::move(session);
  }
  return absl::OkStatus();
}

void AdminHub::OnConnected(socketio::Socket& socket) {
  Deferred deferred = socket.Deferred();
  std::string session;
  {
    absl::MutexLock lock(&mutex_);
    admins_[socket.id()] = deferred;
    if (auto it = new_sessions_.find(socket.id()); it != new_sessions_.end()) {
      session = std::move(it->second);
      new_sessions_.erase(it);
    }
  }
  UpdateWatching();
  if (!session.empty()) {
    socket.Emit("session", boost::json::array{boost::json::value(session)});
  }
  socket.Emit("config", boost::json::array{ConfigJson(/*all_events=*/true)});
  SendAllSockets(std::move(deferred));
  Report();  // The UI lists this server without waiting for the next tick.
}

void AdminHub::OnDisconnect(socketio::Socket& socket, std::string_view) {
  {
    absl::MutexLock lock(&mutex_);
    admins_.erase(socket.id());
    new_sessions_.erase(socket.id());
  }
  UpdateWatching();
}

void AdminHub::OnEvent(socketio::Socket& socket, socketio::Event event) {
  const boost::json::array& args = event.args;
  const std::optional<std::string> nsp = StringArg(args, 0);
  auto refuse = [&](std::string_view why) {
    spdlog::warn("admin: command refused socket={} command={} reason={}", socket.id(), event.name,
                 why);
  };
  if (!nsp) {
    refuse("the namespace is missing");
    return;
  }
  auto log_result = [id = socket.id(), name = event.name](const absl::Status& status) {
    if (!status.ok()) {
      spdlog::warn("admin: command failed socket={} command={} reason={}", id, name,
                   ToStd(status.message()));
    }
  };
  if (event.name == "emit") {
    const std::optional<std::string> name = StringArg(args, 2);
    if (!name) {
      refuse("the event name is missing");
      return;
    }
    core::EmitRequest request;
    request.nsp = *nsp;
    if (std::optional<std::string> filter = StringArg(args, 1); filter && !filter->empty()) {
      request.rooms.push_back(*std::move(filter));
    }
    request.event = *name;
    for (size_t i = 3; i < args.size(); ++i) {
      absl::StrAppend(&request.args_json, i > 3 ? "," : "",
                      ToAbsl(boost::json::serialize(args[i])));
    }
    emitter_.Emit(std::move(request), [log_result](const absl::StatusOr<core::EmitResult>& result) {
      log_result(result.status());
    });
  } else if (event.name == "join" || event.name == "leave") {
    const std::optional<std::string> room = StringArg(args, 1);
    std::optional<std::string> filter = StringArg(args, 2);
    if (!room) {
      refuse("the room is missing");
      return;
    }
    if (!filter && event.name == "leave") {
      filter = room;  // Every socket leaves the room: those in it.
    }
    if (!filter) {
      refuse("join needs the sockets it applies to");
      return;
    }
    v1::ChangeRoomsRequest request;
    request.mutable_sockets()->set_namespace_(*nsp);
    request.mutable_sockets()->set_room(*filter);
    request.add_rooms(*room);
    auto done = [log_result](const absl::StatusOr<v1::ChangeRoomsResponse>& response) {
      log_result(response.status());
    };
    if (event.name == "join") {
      api_.JoinRooms(request, Caller::kHttp, std::move(done));
    } else {
      api_.LeaveRooms(request, Caller::kHttp, std::move(done));
    }
  } else if (event.name == "_disconnect") {
    const bool close = args.size() > 1 && args[1].is_bool() && args[1].as_bool();
    const std::optional<std::string> filter = StringArg(args, 2);
    if (!filter) {
      refuse("disconnect needs the sockets it applies to");
      return;
    }
    v1::DisconnectSocketsRequest request;
    request.mutable_sockets()->set_namespace_(*nsp);
    request.mutable_sockets()->set_room(*filter);
    request.set_close_connection(close);
    api_.DisconnectSockets(request, Caller::kHttp,
                           [log_result](const absl::StatusOr<v1::DisconnectSocketsResponse>& r) {
                             log_result(r.status());
                           });
  } else {
    refuse("unknown command");
  }
}

// --- Watching every namespace ----------------------------------------------

void AdminHub::OnSocketConnected(const socketio::Socket& socket) {
  Notify("socket_connected", boost::json::array{SerializeSocket(socket), Now()});
}

void AdminHub::OnSocketDisconnected(const socketio::Socket& socket, std::string_view reason) {
  Notify("socket_disconnected", boost::json::array{socket.nsp(), socket.id(), reason, Now()});
}

void AdminHub::OnRoomJoined(const socketio::Socket& socket, std::string_view room) {
  Notify("room_joined", boost::json::array{socket.nsp(), room, socket.id(), Now()});
}

void AdminHub::OnRoomLeft(const socketio::Socket& socket, std::string_view room) {
  Notify("room_left", boost::json::array{socket.nsp(), room, socket.id(), Now()});
}

void AdminHub::OnEventReceived(const socketio::Socket& socket, const socketio::Event& event) {
  if (socket.nsp() == kAdminNamespace) {
    return;  // The UI's own commands, as the Node server does.
  }
  boost::json::array args;
  args.reserve(event.args.size() + 1);
  args.emplace_back(event.name);
  args.insert(args.end(), event.args.begin(), event.args.end());
  Notify("event_received", boost::json::array{socket.nsp(), socket.id(), std::move(args), Now()});
}

void AdminHub::OnEventSent(const socketio::Socket& socket, std::string_view message) {
  if (socket.nsp() == kAdminNamespace) {
    return;  // What the admins are sent: reporting it would never end.
  }
  if (std::optional<boost::json::array> event = EventOfMessage(message)) {
    Notify("event_sent", boost::json::array{socket.nsp(), socket.id(), *std::move(event), Now()});
  }
}

// --- Delivery ----------------------------------------------------------------

void AdminHub::Notify(std::string_view event, boost::json::array args) {
  if (!watching()) {
    return;
  }
  DeliverHere(AdminPacket(event, args));
  if (options_.cluster && OthersWatch()) {
    args.insert(args.begin(), boost::json::value(event));
    Forward(std::move(args));
  }
}

void AdminHub::DeliverHere(const core::SharedPacket& packet) {
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, deferred] : admins_) {
    deferred([packet](socketio::Socket& admin) { admin.Deliver(packet); });
  }
}

void AdminHub::Forward(boost::json::array item) {
  absl::MutexLock lock(&mutex_);
  if (outbox_.size() >= kMaxOutbox) {
    return;
  }
  outbox_.emplace_back(std::move(item));
  if (outbox_.size() == 1) {
    timers_.RunAt(std::chrono::steady_clock::now() + kForwardDelay,
                  [this, alive = std::weak_ptr<bool>(alive_)] {
                    if (!alive.expired()) {
                      Flush();
                    }
                  });
  }
}

void AdminHub::Flush() {
  boost::json::array items;
  {
    absl::MutexLock lock(&mutex_);
    items.swap(outbox_);
  }
  if (!items.empty()) {
    broker_.AskOthers(NodeEnvelope(kEventsMethod, boost::json::serialize(items)),
                      [](const absl::StatusOr<std::vector<std::string>>&) {});
  }
}

void AdminHub::AnswerNode(std::string_view method, const std::string& body,
                          absl::AnyInvocable<void(std::string) &&> answer) {
  if (method == kSocketsMethod) {
    LocalSockets([answer = std::move(answer)](const boost::json::array& sockets) mutable {
      std::move(answer)(boost::json::serialize(sockets));
    });
    return;
  }
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(body, error);
  std::move(answer)(std::string());  // Nobody waits for what these do.
  if (error) {
    return;
  }
  if (method == kStatsMethod && parsed.is_object()) {
    const boost::json::object& message = parsed.as_object();
    const boost::json::value* watched = message.if_contains("watched");
    if (watched != nullptr && watched->is_bool() && watched->as_bool()) {
      others_watch_until_ms_.store(base::UnixMillis() + 3 * options_.stats_interval.count(),
                                   std::memory_order_relaxed);
      UpdateWatching();
    }
    if (const boost::json::value* stats = message.if_contains("stats")) {
      DeliverHere(AdminPacket("server_stats", boost::json::array{*stats}));
    }
  } else if (method == kEventsMethod && parsed.is_array()) {
    for (boost::json::value& item : parsed.as_array()) {
      if (!item.is_array() || item.as_array().empty() || !item.as_array()[0].is_string()) {
        continue;
      }
      boost::json::array& parts = item.as_array();
      const std::string event(parts[0].as_string());
      parts.erase(parts.begin());
      DeliverHere(AdminPacket(event, parts));
    }
  }
}

// --- Reports -----------------------------------------------------------------

bool AdminHub::OthersWatch() const {
  return base::UnixMillis() < others_watch_until_ms_.load(std::memory_order_relaxed);
}

void AdminHub::UpdateWatching() {
  absl::MutexLock lock(&mutex_);
  const bool on = !admins_.empty() || (options_.cluster && OthersWatch());
  if (!on) {
    reported_while_watching_ = false;
  }
  watching_.store(on, std::memory_order_relaxed);
  counters_.admin_watching.store(on, std::memory_order_relaxed);
}

TrafficTotals AdminHub::Totals() const {
  auto load = [](const std::atomic<uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  return TrafficTotals{load(counters_.sessions_opened),  load(counters_.sessions_closed),
                       load(counters_.admin_packets_in), load(counters_.admin_packets_out),
                       load(counters_.admin_bytes_in),   load(counters_.admin_bytes_out)};
}

void AdminHub::Tick() {
  UpdateWatching();
  if (watching()) {
    Report();
  }
  Start();
}

void AdminHub::Report() {
  OnEveryShard<ShardFigures>(
      shards_,
      [](net::Shard& shard) {
        ShardFigures figures;
        figures.clients = shard.sessions().size();
        for (const auto& [sid, session] : shard.sessions()) {
          if (session->transport() == engineio::Transport::kPolling) {
            ++figures.polling;
          }
        }
        for (const std::string& nsp : shard.rooms().Namespaces()) {
          figures.namespaces.emplace_back(nsp, shard.rooms().MemberCount(nsp));
        }
        return figures;
      },
      [this, alive = std::weak_ptr<bool>(alive_)](const std::vector<ShardFigures>& shards) {
        if (alive.expired()) {
          return;
        }
        ServerStats stats;
        stats.server_id = options_.server_id;
        stats.hostname = options_.hostname;
        stats.pid = getpid();
        stats.uptime_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        stats.timestamp_ms = base::UnixMillis();
        absl::flat_hash_map<std::string, uint64_t> namespaces;
        for (const ShardFigures& figures : shards) {
          stats.clients += figures.clients;
          stats.polling_clients += figures.polling;
          for (const auto& [nsp, count] : figures.namespaces) {
            namespaces[nsp] += count;
          }
        }
        for (auto& [nsp, count] : namespaces) {
          stats.namespaces.emplace_back(nsp, count);
        }
        std::sort(stats.namespaces.begin(), stats.namespaces.end());
        bool local_admins = false;
        {
          absl::MutexLock lock(&mutex_);
          const TrafficTotals now = Totals();
          if (!reported_while_watching_) {
            last_totals_ = now;  // Counting began when watching did.
            reported_while_watching_ = true;
          }
          stats.since_last = Difference(now, last_totals_);
          last_totals_ = now;
          local_admins = !admins_.empty();
        }
        boost::json::object json = ServerStatsJson(stats);
        DeliverHere(AdminPacket("server_stats", boost::json::array{json}));
        if (options_.cluster) {
          boost::json::object message{{"watched", local_admins}, {"stats", std::move(json)}};
          broker_.AskOthers(NodeEnvelope(kStatsMethod, boost::json::serialize(message)),
                            [](const absl::StatusOr<std::vector<std::string>>&) {});
        }
      });
}

void AdminHub::LocalSockets(absl::AnyInvocable<void(boost::json::array) &&> done) {
  OnEveryShard<boost::json::array>(
      shards_,
      [](net::Shard& shard) {
        boost::json::array sockets;
        for (const std::string& nsp : shard.rooms().Namespaces()) {
          for (core::Member* member : shard.rooms().Select(nsp, {}, {})) {
            if (const auto* socket = dynamic_cast<const socketio::Socket*>(member)) {
              sockets.emplace_back(SerializeSocket(*socket));
            }
          }
        }
        return sockets;
      },
      [done = std::move(done)](std::vector<boost::json::array> shards) mutable {
        boost::json::array all;
        for (boost::json::array& sockets : shards) {
          for (boost::json::value& socket : sockets) {
            all.emplace_back(std::move(socket));
          }
        }
        std::move(done)(std::move(all));
      });
}

void AdminHub::SendAllSockets(Deferred admin) {
  LocalSockets([this, admin = std::move(admin)](boost::json::array local) mutable {
    auto send = [admin](boost::json::array all) {
      admin([all = std::move(all)](socketio::Socket& socket) {
        socket.Emit("all_sockets", boost::json::array{all});
      });
    };
    if (!options_.cluster) {
      send(std::move(local));
      return;
    }
    broker_.AskOthersWithin(
        NodeEnvelope(kSocketsMethod, ""), kSocketsTimeout,
        [local = std::move(local), send](absl::StatusOr<std::vector<std::string>> answers) mutable {
          if (answers.ok()) {
            for (const std::string& answer : *answers) {
              boost::system::error_code error;
              boost::json::value sockets = boost::json::parse(answer, error);
              if (!error && sockets.is_array()) {
                for (boost::json::value& socket : sockets.as_array()) {
                  local.emplace_back(std::move(socket));
                }
              }
            }
          }
          send(std::move(local));
        });
  });
}

}  // namespace roomcast::control
