#include "server/broker/redis_broker.h"

#include <future>

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/base/clock.h"
#include "server/base/ids.h"
#include "server/base/string_view.h"
#include "server/broker/classic_message.h"
#include "server/broker/msgpack.h"
#include "server/broker/native_message.h"
#include "server/broker/publish_script.h"

namespace roomcast::broker {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

constexpr milliseconds kTick{1000};
constexpr milliseconds kFirstRetry{100};
constexpr milliseconds kMaxRetry{5000};
constexpr size_t kChannelsPerCommand = 500;
constexpr size_t kReadBatch = 500;  // Stream entries per XRANGE of a read.
// The uid of a Roomcast node in the classic format: other Roomcast nodes
// skip these copies (they get the native one).
constexpr std::string_view kRoomcastUidPrefix = "roomcast-";

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::vector<std::string_view> Views(const std::vector<std::string>& args) {
  return {args.begin(), args.end()};
}

// A heartbeat's status; nullopt when it expired between the two calls.
std::optional<core::NodeStatus> ParseNodeStatus(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  const json::object& object = value.get_object();
  auto text_of = [&](const char* key) {
    const json::value* field = object.if_contains(key);
    return field != nullptr && field->is_string() ? std::string(field->get_string())
                                                  : std::string();
  };
  auto number_of = [&](const char* key) {
    const json::value* field = object.if_contains(key);
    return field != nullptr && field->is_number() ? field->to_number<int64_t>() : int64_t{0};
  };
  core::NodeStatus node;
  node.id = text_of("id");
  node.address = text_of("address");
  node.version = text_of("version");
  node.sockets = static_cast<uint64_t>(number_of("sockets"));
  node.rooms = static_cast<uint64_t>(number_of("rooms"));
  node.emits = static_cast<uint64_t>(number_of("emits"));
  node.deliveries = static_cast<uint64_t>(number_of("deliveries"));
  node.drops = static_cast<uint64_t>(number_of("drops"));
  node.last_heartbeat_ms = number_of("lastHeartbeat");
  return node;
}

absl::Status Unreachable(absl::string_view why) {
  return absl::UnavailableError(
      absl::StrCat("Redis is unreachable (", why, "): nothing was delivered; retry"));
}

// Between nodes: [kind, request id, sender, payload] in MessagePack.
constexpr std::string_view kRequest = "rq";
constexpr std::string_view kAnswer = "an";

std::string NodeMessage(std::string_view kind, uint64_t id, std::string_view from,
                        std::string_view payload) {
  MsgpackWriter writer;
  writer.Array(4);
  writer.Str(kind);
  writer.Uint(id);
  writer.Str(from);
  writer.Bin(payload);
  return std::move(writer.bytes());
}

// The offset of a stream entry id (`<offset>-1`).
uint64_t EntryOffset(const redisReply& entry) {
  uint64_t offset = 0;
  const std::string_view id = ReplyText(*entry.element[0]);
  (void)absl::SimpleAtoi(ToAbsl(id.substr(0, id.find('-'))), &offset);
  return offset;
}

// One entry of a log stream (`[<offset>-1, ["m", body]]`); nullopt for
// anything else.
struct LogEntry {
  uint64_t offset;
  absl::StatusOr<core::Event> event;
};
std::optional<LogEntry> ReadLogEntry(const redisReply& entry) {
  if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 ||
      entry.element[1]->type != REDIS_REPLY_ARRAY || entry.element[1]->elements != 2) {
    return std::nullopt;
  }
  return LogEntry{EntryOffset(entry), DecodeNativeBody(ReplyText(*entry.element[1]->element[1]))};
}

const RedisScript& PublishLua() {
  static const RedisScript script(kPublishScript);
  return script;
}

}  // namespace

RedisBroker::RedisBroker(RedisBrokerOptions options, base::Counters& counters)
    : options_(std::move(options)),
      counters_(counters),
      keys_(options_.prefix),
      subscriptions_([this] {
        if (!flush_posted_.exchange(true)) {
          asio::post(io_, [this] { Flush(); });
        }
      }),
      node_channel_(keys_.NodeChannel(options_.self.id)),
      uid_(absl::StrCat(ToAbsl(kRoomcastUidPrefix), options_.self.id)),
      new_epoch_(base::NewId()) {
  if (options_.address.tls) {
    tls_.emplace(asio::ssl::context::tls_client);
    tls_->set_default_verify_paths();
    tls_->set_verify_mode(asio::ssl::verify_peer);
  }
  health_.detail = "not connected yet";
}

RedisBroker::~RedisBroker() { Stop(); }

void RedisBroker::SetHandlers(Handlers handlers) { handlers_ = std::move(handlers); }

void RedisBroker::Start(std::string address) {
  options_.self.address = std::move(address);
  work_.emplace(io_.get_executor());
  asio::post(io_, [this] {
    Connect(commands_);
    Connect(subscriber_);
    Tick();
  });
  thread_ = std::thread([this] { io_.run(); });
}

void RedisBroker::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  asio::post(io_, [this] {
    tick_.cancel();
    for (Link* link : {&commands_, &subscriber_}) {
      link->retry.cancel();
      if (link->connection) {
        link->connection->Close(absl::CancelledError("shutting down"));
        link->connection.reset();
      }
    }
    work_.reset();
  });
  thread_.join();
}

void RedisBroker::Sync(std::chrono::milliseconds timeout) {
  auto answered = std::make_shared<std::promise<void>>();
  std::future<void> done = answered->get_future();
  // Replies come in order: the PING's comes after every earlier command's.
  Command({"PING"}, [answered](absl::StatusOr<RedisReply>) { answered->set_value(); });
  done.wait_for(timeout);
}

RedisBroker::Health RedisBroker::health() const {
  absl::MutexLock lock(&health_mutex_);
  return health_;
}

void RedisBroker::UpdateHealth(const std::string& detail) {
  const bool up = commands_.open() && subscriber_.open();
  bool changed = false;
  {
    absl::MutexLock lock(&health_mutex_);
    changed = health_.up != up;
    health_.up = up;
    health_.detail = up ? "" : detail;
  }
  if (changed) {
    // Logged once per change, not per retry.
    if (up) {
      spdlog::info("broker: redis up address={} subscriptions={}", options_.address.Describe(),
                   subscriptions_.wanted());
    } else {
      spdlog::warn("broker: redis down address={} reason=\"{}\"", options_.address.Describe(),
                   detail);
    }
  }
}

void RedisBroker::Connect(Link& link) {
  Link* target = &link;
  link.connection =
      RedisConnection::Create(io_, tls_ ? &*tls_ : nullptr, options_.address,
                              [this, target](const absl::Status& why) { OnLost(*target, why); });
  std::shared_ptr<RedisConnection> connection = link.connection;
  connection->Connect(options_.connect_timeout,
                      [this, target, connection](const absl::Status& status) {
                        if (target->connection != connection) {
                          return;  // Replaced (stopping).
                        }
                        if (!status.ok()) {
                          OnLost(*target, status);
                          return;
                        }
                        OnConnected(*target);
                      });
}

void RedisBroker::OnConnected(Link& link) {
  if (link.failures > 0) {
    base::Counters::Bump(counters_.broker_reconnects);
  }
  link.failures = 0;
  link.ping_sent.reset();
  if (&link == &subscriber_) {
    link.connection->EnterPushMode([this](const redisReply& reply) { OnPush(reply); });
    // Always, on this one connection: Socket.IO's adapter counts the
    // servers of a namespace with PUBSUB NUMSUB on its request channel.
    std::vector<std::string> always{"SUBSCRIBE", node_channel_};
    for (const std::string& nsp : options_.namespaces) {
      always.push_back(keys_.ClassicRequest(nsp));
    }
    link.connection->Send(Views(always));
    // Everything this node wants is sent again on the new connection.
    subscriptions_.SetOnline(true);
  } else if (load_probe_) {
    load_probe_(
        [this](core::NodeLoad load) { asio::post(io_, [this, load] { Heartbeat(load); }); });
  }
  UpdateHealth("");
}

void RedisBroker::OnLost(Link& link, const absl::Status& why) {
  if (&link == &subscriber_) {
    subscriptions_.SetOnline(false);
  }
  link.connection.reset();
  link.ping_sent.reset();
  UpdateHealth(absl::StrCat(link.name, " connection: ", why.message()));
  if (absl::IsCancelled(why) || !work_) {
    return;
  }
  // Backoff with jitter, so a restarted Redis is not met by every node at once.
  const milliseconds base = std::min(kMaxRetry, kFirstRetry * (1 << std::min(link.failures, 6)));
  ++link.failures;
  const milliseconds delay = base / 2 + milliseconds(std::rand() % (base.count() / 2 + 1));
  link.retry.expires_after(delay);
  Link* target = &link;
  link.retry.async_wait([this, target](boost::system::error_code ec) {
    if (!ec && work_) {
      Connect(*target);
    }
  });
}

void RedisBroker::Tick() {
  const auto now = std::chrono::steady_clock::now();
  for (Link* link : {&commands_, &subscriber_}) {
    if (!link->open()) {
      continue;
    }
    if (link->ping_sent) {
      if (now - *link->ping_sent > options_.ping_timeout) {
        // Connected but silent (a paused or overloaded server): start over.
        link->connection->Close(absl::DeadlineExceededError("no answer to PING"));
      }
      continue;
    }
    link->ping_sent = now;
    if (link == &subscriber_) {
      link->connection->Send({"PING"});  // Answered by a "pong" push.
      continue;
    }
    link->connection->Send({"PING"}, [this, now](absl::StatusOr<RedisReply> reply) {
      commands_.ping_sent.reset();
      if (reply.ok()) {
        absl::MutexLock lock(&health_mutex_);
        health_.latency_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - now)
                .count();
      }
    });
  }
  const milliseconds tick = std::min(kTick, options_.heartbeat_interval);
  const int ticks_per_heartbeat =
      std::max<int>(1, static_cast<int>(options_.heartbeat_interval / tick));
  if (++ticks_ % ticks_per_heartbeat == 0 && commands_.open()) {
    if (load_probe_) {
      load_probe_(
          [this](core::NodeLoad load) { asio::post(io_, [this, load] { Heartbeat(load); }); });
    }
    if (heartbeat_hook_) {
      heartbeat_hook_();
    }
  }
  const int ticks_per_trim = static_cast<int>(
      std::clamp<milliseconds>(std::chrono::duration_cast<milliseconds>(options_.retention) / 4,
                               tick, std::chrono::minutes(1)) /
      tick);
  if (ticks_ % std::max(1, ticks_per_trim) == 0 && commands_.open()) {
    TrimExpired();
  }
  counters_.broker_subscriptions.store(subscriptions_.wanted(), std::memory_order_relaxed);
  tick_.expires_after(tick);
  tick_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      Tick();
    }
  });
}

void RedisBroker::Heartbeat(core::NodeLoad load) {
  if (!commands_.open()) {
    return;
  }
  const int64_t now = base::UnixMillis();
  const std::string status = json::serialize(json::object{
      {"id", options_.self.id},
      {"address", options_.self.address},
      {"version", options_.self.version},
      {"sockets", load.sockets},
      {"rooms", load.rooms},
      {"emits", load.emits},
      {"deliveries", load.deliveries},
      {"drops", load.drops},
      {"lastHeartbeat", now},
  });
  const std::string score = std::to_string(now);
  const std::string ttl = std::to_string(options_.node_ttl.count());
  const std::string oldest = std::to_string(now - options_.node_ttl.count());
  const std::string node_key = keys_.Node(options_.self.id);
  const std::string nodes_key = keys_.Nodes();
  RedisConnection& connection = *commands_.connection;
  connection.Send({"SET", node_key, status, "PX", ttl}, nullptr);
  connection.Send({"ZADD", nodes_key, score, options_.self.id}, nullptr);
  // Nodes that stopped without a word (SIGKILL) leave the set here.
  connection.Send({"ZREMRANGEBYSCORE", nodes_key, "-inf", absl::StrCat("(", oldest)}, nullptr);
}

void RedisBroker::TrimExpired() {
  // The stream's ids are offsets, not times: the oldest entries' own times
  // say how far to trim (a page per namespace per pass; the rest next pass).
  constexpr size_t kPage = 100;
  const int64_t cutoff =
      base::UnixMillis() - std::chrono::duration_cast<milliseconds>(options_.retention).count();
  for (const std::string& nsp : options_.namespaces) {
    commands_.connection->Send(
        {"XRANGE", keys_.Log(nsp), "-", "+", "COUNT", std::to_string(kPage)},
        [this, nsp, cutoff](absl::StatusOr<RedisReply> entries) {
          if (!entries.ok() || (*entries)->type != REDIS_REPLY_ARRAY || !commands_.open()) {
            return;
          }
          uint64_t keep_from = 0;
          const redisReply& list = **entries;
          for (size_t i = 0; i < list.elements; ++i) {
            std::optional<LogEntry> entry = ReadLogEntry(*list.element[i]);
            if (!entry) {
              continue;
            }
            if (entry->event.ok() && entry->event->time_ms >= cutoff) {
              break;
            }
            keep_from = entry->offset + 1;
          }
          if (keep_from > 0) {
            commands_.connection->Send(
                {"XTRIM", keys_.Log(nsp), "MINID", absl::StrCat(keep_from, "-0")}, nullptr);
          }
        });
  }
}

void RedisBroker::Nodes(NodesDone done) {
  asio::post(io_, [this, done = std::move(done)]() mutable {
    LiveNodeIds(
        [this, done = std::move(done)](absl::StatusOr<std::vector<std::string>> ids) mutable {
          if (!ids.ok()) {
            std::move(done)(ids.status());
            return;
          }
          if (ids->empty() || !commands_.open()) {
            std::move(done)(std::vector<core::NodeStatus>{});
            return;
          }
          std::vector<std::string> args{"MGET"};
          for (const std::string& id : *ids) {
            args.push_back(keys_.Node(id));
          }
          commands_.connection->Send(
              Views(args), [done = std::move(done)](absl::StatusOr<RedisReply> statuses) mutable {
                if (!statuses.ok()) {
                  std::move(done)(Unreachable(statuses.status().message()));
                  return;
                }
                std::vector<core::NodeStatus> nodes;
                for (size_t i = 0; i < (*statuses)->elements; ++i) {
                  if (std::optional<core::NodeStatus> node =
                          ParseNodeStatus(ReplyText(*(*statuses)->element[i]))) {
                    nodes.push_back(*std::move(node));
                  }
                }
                std::move(done)(std::move(nodes));
              });
        });
  });
}

RedisScript::RedisScript(const char* text) : text(text), sha(Sha1Hex(text)) {}

void RedisBroker::Publish(const core::Event& event, std::string_view idempotency_key,
                          PublishDone done) {
  if (options_.external_log == nullptr || event.packet->is_volatile) {
    PublishScript(event, idempotency_key, nullptr, std::move(done));
    return;
  }
  // Committed first, then published: a retry with the same key finds the
  // committed event and publishes it instead of logging it twice.
  auto copy = std::make_shared<const core::Event>(event);
  options_.external_log->Append(
      event, idempotency_key,
      [this, copy, key = std::string(idempotency_key),
       done = std::move(done)](absl::StatusOr<core::Published> logged) mutable {
        if (!logged.ok()) {
          std::move(done)(logged.status());
          return;
        }
        PublishScript(*copy, key, &logged->position, std::move(done));
      });
}

void RedisBroker::PublishScript(const core::Event& event, std::string_view idempotency_key,
                                const core::StreamPosition* position, PublishDone done) {
  // Built on the caller's thread: the broker's only carries bytes.
  const RedisScript& script = PublishLua();
  std::vector<std::string> args{"EVALSHA", script.sha, idempotency_key.empty() ? "2" : "3",
                                keys_.LogMeta(event.nsp), keys_.Log(event.nsp)};
  if (!idempotency_key.empty()) {
    args.push_back(keys_.Idempotency(event.nsp, idempotency_key));
  }
  args.emplace_back(event.packet->is_volatile ? "volatile"
                    : position != nullptr     ? "logged"
                                              : "log");
  args.push_back(std::to_string(options_.log_size));
  args.push_back(position != nullptr ? position->epoch : new_epoch_);
  args.push_back(std::to_string(options_.idempotency_window.count()));
  args.push_back(EncodeNativeBody(options_.self.id, event));
  args.push_back(position != nullptr ? std::to_string(position->offset) : "");
  if (event.rooms.empty()) {
    args.push_back(keys_.Namespace(event.nsp));
  }
  for (const std::string& room : event.rooms) {
    args.push_back(keys_.Room(event.nsp, room));
  }
  if (options_.socketio_compat) {
    // Also in the classic adapter's format, once logged, for Node.js servers.
    absl::StatusOr<std::string> classic = EncodeClassicBroadcast(uid_, event);
    const std::string channel = event.rooms.size() == 1
                                    ? keys_.ClassicRoom(event.nsp, event.rooms.front())
                                    : keys_.ClassicNamespace(event.nsp);
    if (classic.ok()) {
      done = [this, channel, classic = *std::move(classic),
              done = std::move(done)](absl::StatusOr<core::Published> published) mutable {
        if (published.ok() && !published->duplicate && commands_.open()) {
          commands_.connection->Send({"PUBLISH", channel, classic}, nullptr);
        }
        std::move(done)(std::move(published));
      };
    }
  }
  RedisConnection::OnReply on_reply =
      [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
        if (!reply.ok()) {
          std::move(done)(absl::IsUnavailable(reply.status())
                              ? reply.status()
                              : absl::UnavailableError(absl::StrCat("Redis refused the event: ",
                                                                    reply.status().message())));
          return;
        }
        const redisReply& result = **reply;
        if (result.type != REDIS_REPLY_ARRAY || result.elements != 3) {
          std::move(done)(absl::InternalError("unexpected answer from the publish script"));
          return;
        }
        core::Published published;
        published.duplicate = result.element[0]->integer == 1;
        published.position.offset = static_cast<uint64_t>(result.element[1]->integer);
        published.position.epoch = std::string(ReplyText(*result.element[2]));
        std::move(done)(std::move(published));
      };
  asio::post(
      io_, [this, &script, args = std::move(args), on_reply = std::move(on_reply)]() mutable {
        RunScript(
            script, std::move(args),
            [this, on_reply = std::move(on_reply)](absl::StatusOr<RedisReply> reply) mutable {
              if (!reply.ok()) {
                base::Counters::Bump(counters_.broker_publish_failures);
              }
              std::move(on_reply)(std::move(reply));
            },
            /*loaded=*/true);
      });
}

void RedisBroker::RunScript(const RedisScript& script, std::vector<std::string> args,
                            RedisConnection::OnReply done, bool loaded) {
  if (!commands_.open()) {
    if (done) {
      std::move(done)(Unreachable(health().detail));
    }
    return;
  }
  size_t bytes = 0;
  for (const std::string& arg : args) {
    bytes += arg.size();
  }
  base::Counters::Bump(counters_.broker_bytes_sent, bytes);
  const std::vector<std::string_view> views = Views(args);
  commands_.connection->Send(views, [this, &script, args = std::move(args), done = std::move(done),
                                     loaded](absl::StatusOr<RedisReply> reply) mutable {
    if (!reply.ok() && loaded && absl::StartsWith(reply.status().message(), "NOSCRIPT")) {
      // A new or flushed Redis: EVAL sends the script, and caches it.
      args[0] = "EVAL";
      args[1] = script.text;
      RunScript(script, std::move(args), std::move(done), /*loaded=*/false);
      return;
    }
    if (!done) {
      return;
    }
    if (!reply.ok() && absl::IsUnavailable(reply.status())) {
      std::move(done)(Unreachable(reply.status().message()));
      return;
    }
    std::move(done)(std::move(reply));
  });
}

void RedisBroker::Command(std::vector<std::string> args, RedisConnection::OnReply done) {
  asio::post(io_, [this, args = std::move(args), done = std::move(done)]() mutable {
    if (!commands_.open()) {
      if (done) {
        std::move(done)(Unreachable(health().detail));
      }
      return;
    }
    commands_.connection->Send(Views(args), std::move(done));
  });
}

void RedisBroker::Commands(std::vector<std::vector<std::string>> commands) {
  asio::post(io_, [this, commands = std::move(commands)] {
    if (!commands_.open()) {
      return;
    }
    for (const std::vector<std::string>& args : commands) {
      commands_.connection->Send(Views(args), nullptr);
    }
  });
}

void RedisBroker::Eval(const RedisScript& script, std::vector<std::string> keys,
                       std::vector<std::string> args, RedisConnection::OnReply done) {
  std::vector<std::string> all{"EVALSHA", script.sha, std::to_string(keys.size())};
  all.insert(all.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
  all.insert(all.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  asio::post(io_, [this, &script, all = std::move(all), done = std::move(done)]() mutable {
    RunScript(script, std::move(all), std::move(done), /*loaded=*/true);
  });
}

// A read of the namespace's stream in pages of kReadBatch: a room filter
// may need several.
struct RedisBroker::ReadState {
  core::LogQuery query;
  core::LogPage page;
  uint64_t cursor = 0;    // The next offset to read (forward) or the last (reverse).
  bool answered = false;  // The head's read failed and said so.
  ReadDone done;
};

void RedisBroker::Read(core::LogQuery query, ReadDone done) {
  auto state = std::make_shared<ReadState>();
  state->query = std::move(query);
  state->done = std::move(done);
  asio::post(io_, [this, state] {
    if (!commands_.open()) {
      std::move(state->done)(Unreachable(health().detail));
      return;
    }
    // Where the log stands, then its oldest entry: so a reader can tell a
    // trimmed log from an empty range.
    const std::string meta = keys_.LogMeta(state->query.nsp);
    commands_.connection->Send(
        {"HMGET", meta, "epoch", "seq"}, [state](absl::StatusOr<RedisReply> head) {
          if (!head.ok()) {
            state->answered = true;
            std::move(state->done)(Unreachable(head.status().message()));
            return;
          }
          state->page.epoch = std::string(ReplyText(*(*head)->element[0]));
          (void)absl::SimpleAtoi(ToAbsl(ReplyText(*(*head)->element[1])), &state->page.last);
          state->page.first = state->page.last + 1;
        });
    commands_.connection->Send(
        {"XRANGE", keys_.Log(state->query.nsp), "-", "+", "COUNT", "1"},
        [this, state](absl::StatusOr<RedisReply> oldest) {
          if (state->answered) {
            return;
          }
          if (!oldest.ok()) {
            std::move(state->done)(Unreachable(oldest.status().message()));
            return;
          }
          if ((*oldest)->type == REDIS_REPLY_ARRAY && (*oldest)->elements == 1) {
            state->page.first = std::min(state->page.first, EntryOffset(*(*oldest)->element[0]));
          }
          state->cursor = state->query.reverse ? state->page.last : state->query.after + 1;
          ReadRange(state);
        });
  });
}

void RedisBroker::ReadRange(const std::shared_ptr<ReadState>& state) {
  const core::LogQuery& query = state->query;
  const bool past_end =
      query.reverse ? state->cursor <= query.after : state->cursor > state->page.last;
  if (past_end || state->page.events.size() >= query.limit || !commands_.open()) {
    std::move(state->done)(std::move(state->page));
    return;
  }
  std::vector<std::string> args =
      query.reverse ? std::vector<std::string>{"XREVRANGE", keys_.Log(query.nsp),
                                               absl::StrCat(state->cursor, "-1"),
                                               absl::StrCat(query.after + 1, "-0")}
                    : std::vector<std::string>{"XRANGE", keys_.Log(query.nsp),
                                               absl::StrCat(state->cursor, "-0"), "+"};
  args.emplace_back("COUNT");
  args.push_back(std::to_string(kReadBatch));
  commands_.connection->Send(Views(args), [this, state](absl::StatusOr<RedisReply> entries) {
    if (!entries.ok()) {
      std::move(state->done)(Unreachable(entries.status().message()));
      return;
    }
    const redisReply& list = **entries;
    for (size_t i = 0; i < list.elements; ++i) {
      std::optional<LogEntry> entry = ReadLogEntry(*list.element[i]);
      if (!entry) {
        continue;
      }
      const uint64_t offset = entry->offset;
      state->cursor = state->query.reverse ? offset - 1 : offset + 1;
      absl::StatusOr<core::Event>& event = entry->event;
      if (!event.ok()) {
        continue;
      }
      if (!state->query.room.empty() && !core::Targets(*event, state->query.room)) {
        continue;
      }
      event->position = core::StreamPosition{offset, state->page.epoch};
      state->page.events.push_back(*std::move(event));
      if (state->page.events.size() >= state->query.limit) {
        break;
      }
    }
    if (list.elements < kReadBatch) {
      state->cursor = state->query.reverse ? state->query.after : state->page.last + 1;
    }
    ReadRange(state);
  });
}

void RedisBroker::Flush() {
  flush_posted_ = false;
  std::vector<Subscriptions::Change> changes = subscriptions_.TakeChanges();
  if (changes.empty() || !subscriber_.open()) {
    return;
  }
  // Per namespace (one slot on Redis Cluster) and direction: the classic
  // channels first, so the sharded confirmation that counts arrives last.
  struct Batch {
    std::vector<std::string> classic;
    std::vector<std::string> native;
  };
  absl::flat_hash_map<std::pair<std::string, bool>, Batch> batches;
  for (const Subscriptions::Change& change : changes) {
    Batch& batch = batches[{change.key.nsp, change.subscribe}];
    if (change.key.is_namespace()) {
      batch.classic.push_back(keys_.ClassicNamespace(change.key.nsp));
      batch.native.push_back(keys_.Namespace(change.key.nsp));
    } else {
      batch.classic.push_back(keys_.ClassicRoom(change.key.nsp, change.key.room));
      batch.native.push_back(keys_.Room(change.key.nsp, change.key.room));
    }
  }
  RedisConnection& connection = *subscriber_.connection;
  auto send = [&](std::string_view command, const std::vector<std::string>& channels) {
    for (size_t at = 0; at < channels.size(); at += kChannelsPerCommand) {
      std::vector<std::string_view> args{command};
      for (size_t i = at; i < std::min(channels.size(), at + kChannelsPerCommand); ++i) {
        args.push_back(channels[i]);
      }
      connection.Send(args);
    }
  };
  for (const auto& [key, batch] : batches) {
    const bool subscribe = key.second;
    send(subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", batch.classic);
    send(subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE", batch.native);
  }
  counters_.broker_subscriptions.store(subscriptions_.wanted(), std::memory_order_relaxed);
}

void RedisBroker::OnPush(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    spdlog::warn("broker: redis refused a subscription command error=\"{}\"", ReplyText(reply));
    return;
  }
  if (reply.type == REDIS_REPLY_STATUS && ReplyText(reply) == "PONG") {
    subscriber_.ping_sent.reset();  // Not subscribed to anything yet: a plain answer.
    return;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2 ||
      reply.element[0]->type != REDIS_REPLY_STRING) {
    return;
  }
  const std::string_view kind = ReplyText(*reply.element[0]);
  if (kind == "pong") {
    subscriber_.ping_sent.reset();
    return;
  }
  if (reply.elements < 3) {
    return;
  }
  const std::string_view channel = ReplyText(*reply.element[1]);
  if (kind == "smessage" || kind == "message") {
    const std::string_view payload = ReplyText(*reply.element[2]);
    // Bytes count every message; messages only what others sent (Redis
    // also hands a node its own events back on the rooms it is in).
    base::Counters::Bump(counters_.broker_bytes_received, channel.size() + payload.size());
    if (kind == "smessage") {
      OnEventMessage(channel, payload);
    } else if (channel == node_channel_) {
      OnNodeMessage(payload);
    } else {
      OnClassicMessage(channel, payload);
    }
  } else if (kind == "ssubscribe" || kind == "sunsubscribe") {
    if (std::optional<RedisKeys::Channel> parsed = keys_.ParseChannel(channel)) {
      subscriptions_.Confirmed({std::move(parsed->nsp), parsed->room.value_or("")});
    }
  }
}

void RedisBroker::OnEventMessage(std::string_view channel, std::string_view payload) {
  // Redis hands a node its own events back on the rooms it is in; it
  // delivered those when it published them, so they are read no further.
  absl::StatusOr<std::optional<NativeMessage>> message =
      DecodeNativeMessage(payload, options_.self.id);
  if (message.ok() && !message->has_value()) {
    return;
  }
  std::optional<RedisKeys::Channel> target = keys_.ParseChannel(channel);
  if (!message.ok() || !target) {
    spdlog::warn("broker: dropped a malformed event message channel={} bytes={}", channel,
                 payload.size());
    return;
  }
  if (!handlers_.on_event) {
    return;
  }
  base::Counters::Bump(counters_.broker_messages);
  core::Event& event = (*message)->event;
  if (target->room) {
    // An event for several rooms is published on each room's channel: this
    // copy is for the room's members who are in none of the rooms listed
    // before it, so each socket gets the event exactly once.
    std::vector<std::string> rooms = std::move(event.rooms);
    for (std::string& room : rooms) {
      if (room == *target->room) {
        break;
      }
      event.except.push_back(std::move(room));
    }
    event.rooms = {*target->room};
  }
  handlers_.on_event(std::make_shared<const core::Event>(std::move(event)));
}

void RedisBroker::OnClassicMessage(std::string_view channel, std::string_view payload) {
  base::Counters::Bump(counters_.broker_messages);
  if (std::optional<std::string_view> nsp = keys_.ClassicRequestNamespace(channel)) {
    OnClassicRequest(*nsp, payload);
    return;
  }
  absl::StatusOr<ClassicBroadcast> broadcast = DecodeClassicBroadcast(payload);
  if (!broadcast.ok()) {
    spdlog::warn("broker: dropped a Socket.IO broadcast channel={} error=\"{}\"", channel,
                 ToStd(broadcast.status().message()));
    return;
  }
  if (broadcast->uid.starts_with(kRoomcastUidPrefix)) {
    return;  // A Roomcast node's compat copy: its native copy came too.
  }
  if (handlers_.on_event) {
    handlers_.on_event(std::make_shared<const core::Event>(std::move(broadcast->event)));
  }
}

void RedisBroker::OnClassicRequest(std::string_view nsp, std::string_view payload) {
  absl::StatusOr<ClassicRequest> request = DecodeClassicRequest(nsp, payload);
  if (!request.ok()) {
    spdlog::warn("broker: dropped a malformed Socket.IO request nsp={} error=\"{}\"", nsp,
                 ToStd(request.status().message()));
    return;
  }
  auto respond = [this, nsp = std::string(nsp)](std::string response) {
    asio::post(io_, [this, nsp, response = std::move(response)] {
      if (commands_.open()) {
        commands_.connection->Send({"PUBLISH", keys_.ClassicResponse(nsp), response}, nullptr);
      }
    });
  };
  switch (request->kind) {
    case ClassicRequest::Kind::kCommand:
      if (handlers_.on_command) {
        handlers_.on_command(request->command);
      }
      if (!request->request_id.empty()) {
        respond(EncodeClassicResponse(*request, {}));
      }
      return;
    case ClassicRequest::Kind::kFetchSockets:
    case ClassicRequest::Kind::kSocketIds:
    case ClassicRequest::Kind::kAllRooms:
      if (handlers_.on_find) {
        // Copied out first: the callback below takes the request.
        core::RoomCommand command = request->command;
        handlers_.on_find(std::move(command.nsp), std::move(command.targets),
                          std::move(command.except),
                          [request = *std::move(request),
                           respond](const std::vector<core::SocketSummary>& sockets) mutable {
                            respond(EncodeClassicResponse(request, sockets));
                          });
      }
      return;
    case ClassicRequest::Kind::kIgnored:
      return;
  }
}

void RedisBroker::LiveNodeIds(
    absl::AnyInvocable<void(absl::StatusOr<std::vector<std::string>>) &&> done) {
  if (!commands_.open()) {
    std::move(done)(Unreachable(health().detail));
    return;
  }
  const std::string oldest = std::to_string(base::UnixMillis() - options_.node_ttl.count());
  commands_.connection->Send({"ZRANGEBYSCORE", keys_.Nodes(), oldest, "+inf"},
                             [done = std::move(done)](absl::StatusOr<RedisReply> ids) mutable {
                               if (!ids.ok()) {
                                 std::move(done)(Unreachable(ids.status().message()));
                                 return;
                               }
                               std::vector<std::string> out;
                               for (size_t i = 0; i < (*ids)->elements; ++i) {
                                 out.emplace_back(ReplyText(*(*ids)->element[i]));
                               }
                               std::move(done)(std::move(out));
                             });
}

void RedisBroker::AskOthers(std::string request, AnswersDone done) {
  AskOthersWithin(std::move(request), options_.request_timeout, std::move(done));
}

void RedisBroker::AskOthersWithin(std::string request, std::chrono::milliseconds timeout,
                                  AnswersDone done) {
  asio::post(io_, [this, request = std::move(request), timeout, done = std::move(done)]() mutable {
    LiveNodeIds([this, request = std::move(request), timeout,
                 done = std::move(done)](absl::StatusOr<std::vector<std::string>> ids) mutable {
      if (!ids.ok()) {
        std::move(done)(ids.status());
        return;
      }
      std::erase(*ids, options_.self.id);
      Ask(*ids, request, timeout, std::move(done));
    });
  });
}

void RedisBroker::AskNode(std::string node, std::string request, std::chrono::milliseconds timeout,
                          AnswersDone done) {
  asio::post(
      io_, [this, node = std::move(node), request = std::move(request), timeout,
            done = std::move(done)]() mutable { Ask({node}, request, timeout, std::move(done)); });
}

void RedisBroker::Ask(const std::vector<std::string>& nodes, const std::string& request,
                      std::chrono::milliseconds timeout, AnswersDone done) {
  if (nodes.empty() || !commands_.open()) {
    std::move(done)(std::vector<std::string>{});
    return;
  }
  const uint64_t id = ++next_request_;
  Pending& pending = pending_[id];
  pending.expected = nodes.size();
  pending.done = std::move(done);
  pending.deadline = std::make_unique<asio::steady_timer>(io_, timeout);
  pending.deadline->async_wait([this, id](boost::system::error_code ec) {
    if (!ec) {
      auto it = pending_.find(id);
      spdlog::warn("broker: nodes did not answer in time answered={} expected={}",
                   it == pending_.end() ? 0 : it->second.answers.size(),
                   it == pending_.end() ? 0 : it->second.expected);
      FinishRequest(id);
    }
  });
  const std::string message = NodeMessage(kRequest, id, options_.self.id, request);
  for (const std::string& node : nodes) {
    base::Counters::Bump(counters_.broker_bytes_sent, message.size());
    commands_.connection->Send({"PUBLISH", keys_.NodeChannel(node), message}, nullptr);
  }
}

void RedisBroker::FinishRequest(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return;
  }
  Pending pending = std::move(it->second);
  pending_.erase(it);
  pending.deadline->cancel();
  std::move(pending.done)(std::move(pending.answers));
}

void RedisBroker::OnNodeMessage(std::string_view payload) {
  base::Counters::Bump(counters_.broker_messages);
  absl::StatusOr<MsgpackReader> reader = MsgpackReader::Open(payload);
  uint32_t fields = 0;
  std::string kind;
  uint64_t id = 0;
  std::string from;
  std::string body;
  if (!reader.ok() || !reader->ReadArray(fields) || fields != 4 || !reader->ReadStr(kind) ||
      !reader->ReadUint(id) || !reader->ReadStr(from) || !reader->ReadBin(body)) {
    spdlog::warn("broker: dropped a malformed node message bytes={}", payload.size());
    return;
  }
  if (kind == kAnswer) {
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      it->second.answers.push_back(std::move(body));
      if (it->second.answers.size() == it->second.expected) {
        FinishRequest(id);
      }
    }
    return;
  }
  if (kind != kRequest || !handlers_.on_request) {
    return;
  }
  handlers_.on_request(std::move(body), [this, id, from](std::string answer) {
    // From any thread: the answer leaves from the broker's.
    asio::post(io_, [this, id, from, answer = std::move(answer)] {
      if (commands_.open()) {
        commands_.connection->Send({"PUBLISH", keys_.NodeChannel(from),
                                    NodeMessage(kAnswer, id, options_.self.id, answer)},
                                   nullptr);
      }
    });
  });
}

}  // namespace roomcast::broker
