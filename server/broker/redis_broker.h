#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/base/counters.h"
#include "server/broker/redis_address.h"
#include "server/broker/redis_connection.h"
#include "server/broker/redis_keys.h"
#include "server/broker/subscriptions.h"
#include "server/core/broker.h"

namespace roomcast::broker {

struct RedisBrokerOptions {
  RedisAddress address;
  std::string prefix = "socket.io";
  core::NodeStatus self;                          // id, address and version of this node
  size_t log_size = 10000;                        // Events kept per namespace stream.
  std::chrono::seconds retention{7 * 24 * 3600};  // Older events are trimmed off.
  std::chrono::milliseconds idempotency_window{300000};
  std::chrono::milliseconds heartbeat_interval{5000};
  // A node not heard from for this long is gone.
  std::chrono::milliseconds node_ttl{15000};
  // A connection that does not answer a PING within this is dropped.
  std::chrono::milliseconds ping_timeout{3000};
  std::chrono::milliseconds connect_timeout{3000};
  // Every namespace served: this node answers Socket.IO requests for each.
  std::vector<std::string> namespaces = {"/"};
  // Also publish each emit in the classic @socket.io/redis-adapter format.
  bool socketio_compat = false;
  // How long AskOthers waits for the other nodes' answers.
  std::chrono::milliseconds request_timeout{2000};
  // The log that numbers events when it is not Redis's own stream
  // (PostgreSQL): events are committed there, then published here.
  core::EventStore* external_log = nullptr;
};

// A Lua script, run by its SHA1 (and sent when Redis does not have it).
struct RedisScript {
  explicit RedisScript(const char* text);
  const char* text;
  std::string sha;
};

// The cluster engine on Redis (DESIGN.md "Many nodes"): one Lua script logs
// and publishes each event on sharded per-room channels; the node
// subscribes to the rooms and namespaces it has members in (Subscriptions),
// reads @socket.io/redis-emitter's classic channels for the same rooms, and
// keeps its heartbeat in a sorted set. Two connections (commands, and a
// subscriber) on one thread of its own; no call blocks a caller.
class RedisBroker final : public core::Broker, public core::EventReader {
 public:
  struct Health {
    bool up = false;
    double latency_ms = 0;  // The last PING's round trip.
    std::string detail;     // Why it is down.
  };

  RedisBroker(RedisBrokerOptions options, base::Counters& counters);
  ~RedisBroker() override;

  // Where the shards report their rooms.
  core::RoomInterest& interest() { return subscriptions_; }
  // Asked before each heartbeat; answers on any thread.
  void SetLoadProbe(LoadProbe probe) { load_probe_ = std::move(probe); }
  // `address` is where this node serves browsers, for the cluster's Status.
  void Start(std::string address);
  // Stops the thread; nothing is called back after it returns.
  void Stop();
  Health health() const;
  // Blocks (not on the broker's thread) until Redis answered every command
  // sent so far, or `timeout`: what a draining node wrote (its sessions) is
  // there before it exits.
  void Sync(std::chrono::milliseconds timeout);

  void Publish(const core::Event& event, std::string_view idempotency_key,
               PublishDone done) override;
  void SetHandlers(Handlers handlers) override;
  void Nodes(NodesDone done) override;
  void AskOthers(std::string request, AnswersDone done) override;
  void AskOthersWithin(std::string request, std::chrono::milliseconds timeout,
                       AnswersDone done) override;
  void AskNode(std::string node, std::string request, std::chrono::milliseconds timeout,
               AnswersDone done) override;
  // Reads the namespace's stream (the `redis` event log).
  void Read(core::LogQuery query, ReadDone done) override;

  // For the other Redis-backed parts (sessions): one command, or a script
  // with its keys and arguments, from any thread; `done` (may be null) runs
  // on the broker's thread, with UNAVAILABLE while Redis is down.
  void Command(std::vector<std::string> args, RedisConnection::OnReply done);
  // Many commands whose answers nobody waits for, in one trip to the thread.
  void Commands(std::vector<std::vector<std::string>> commands);
  void Eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args,
            RedisConnection::OnReply done);
  // Runs on the broker's thread at every heartbeat.
  void SetHeartbeatHook(std::function<void()> hook) { heartbeat_hook_ = std::move(hook); }
  const RedisKeys& keys() const { return keys_; }
  const RedisBrokerOptions& options() const { return options_; }

 private:
  // One of the two connections, reconnecting with backoff.
  struct Link {
    std::string name;
    std::shared_ptr<RedisConnection> connection;
    int failures = 0;  // Since the last success: the backoff grows with it.
    std::optional<std::chrono::steady_clock::time_point> ping_sent;
    boost::asio::steady_timer retry;
    explicit Link(std::string name, boost::asio::io_context& io)
        : name(std::move(name)), retry(io) {}
    bool open() const { return connection != nullptr && connection->open(); }
  };

  void Connect(Link& link);
  void OnConnected(Link& link);
  void OnLost(Link& link, const absl::Status& why);
  void UpdateHealth(const std::string& detail);
  void Tick();
  void Heartbeat(core::NodeLoad load);
  // Trims each namespace's stream of events older than the retention.
  void TrimExpired();
  void Flush();
  void OnPush(const redisReply& reply);
  void OnEventMessage(std::string_view channel, std::string_view payload);
  void OnClassicMessage(std::string_view channel, std::string_view payload);
  void OnClassicRequest(std::string_view nsp, std::string_view payload);
  // Publishes `event` through the log script; `position` when the external log numbered it.
  void PublishScript(const core::Event& event, std::string_view idempotency_key,
                     const core::StreamPosition* position, PublishDone done);
  // Runs `args` (EVALSHA sha numkeys ...) on the commands connection.
  void RunScript(const RedisScript& script, std::vector<std::string> args,
                 RedisConnection::OnReply done, bool loaded);
  struct ReadState;
  void ReadRange(const std::shared_ptr<ReadState>& state);
  void LiveNodeIds(absl::AnyInvocable<void(absl::StatusOr<std::vector<std::string>>) &&> done);
  // A request from another node, or an answer to one of ours.
  void OnNodeMessage(std::string_view payload);
  void FinishRequest(uint64_t id);
  // Sends `request` to `nodes` (on the broker's thread) and waits for their answers.
  void Ask(const std::vector<std::string>& nodes, const std::string& request,
           std::chrono::milliseconds timeout, AnswersDone done);

  // A request of ours waiting for the other nodes.
  struct Pending {
    size_t expected = 0;
    std::vector<std::string> answers;
    AnswersDone done;
    std::unique_ptr<boost::asio::steady_timer> deadline;
  };

  RedisBrokerOptions options_;
  base::Counters& counters_;
  RedisKeys keys_;
  Subscriptions subscriptions_;
  Handlers handlers_;
  const std::string node_channel_;  // Where this node hears requests and answers.
  const std::string uid_;           // Its uid in the classic format.
  uint64_t next_request_ = 0;
  absl::flat_hash_map<uint64_t, Pending> pending_;
  LoadProbe load_probe_;
  std::function<void()> heartbeat_hook_;
  std::string new_epoch_;  // Offered when a namespace's log does not exist yet.

  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::optional<boost::asio::ssl::context> tls_;
  Link commands_{"commands", io_};
  Link subscriber_{"subscriber", io_};
  boost::asio::steady_timer tick_{io_};
  int ticks_ = 0;
  std::atomic<bool> flush_posted_{false};
  std::thread thread_;

  mutable absl::Mutex health_mutex_;
  Health health_ ABSL_GUARDED_BY(health_mutex_);
};

}  // namespace roomcast::broker
