#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/admin_login.h"
#include "server/base/counters.h"
#include "server/control/admin_messages.h"
#include "server/control/timer_thread.h"
#include "server/core/broker.h"
#include "server/core/emitter.h"
#include "server/net/shard.h"
#include "server/socketio/handler.h"

namespace roomcast::control {

class ControlApi;

// The server side of the Socket.IO Admin UI on the namespace `/admin`: logs
// the UI in, reports this node's figures every interval, describes every
// socket and its changes as they happen, and runs the UI's commands
// through the control plane. With a cluster broker each node reports to
// the admins of every node. While no admin watches (here or, in a cluster,
// anywhere) it costs the sockets one atomic load per hook.
class AdminHub final : public socketio::Handler, public socketio::Observer {
 public:
  struct Options {
    auth::AdminLogin::Options login;
    std::string server_id;
    std::string hostname;
    std::chrono::milliseconds stats_interval{2000};
    bool cluster = false;
  };

  AdminHub(Options options, net::Shards& shards, core::Emitter& emitter, core::Broker& broker,
           ControlApi& api, TimerThread& timers, base::Counters& counters);
  ~AdminHub() override;

  // Starts the report timer.
  void Start();

  // socketio::Handler, for the admin namespace.
  absl::Status Authorize(socketio::Socket& socket) override;
  void OnConnected(socketio::Socket& socket) override;
  void OnEvent(socketio::Socket& socket, socketio::Event event) override;
  void OnDisconnect(socketio::Socket& socket, std::string_view reason) override;

  // socketio::Observer, for every namespace.
  bool watching() const override { return watching_.load(std::memory_order_relaxed); }
  void OnSocketConnected(const socketio::Socket& socket) override;
  void OnSocketDisconnected(const socketio::Socket& socket, std::string_view reason) override;
  void OnRoomJoined(const socketio::Socket& socket, std::string_view room) override;
  void OnRoomLeft(const socketio::Socket& socket, std::string_view room) override;
  void OnEventReceived(const socketio::Socket& socket, const socketio::Event& event) override;
  void OnEventSent(const socketio::Socket& socket, std::string_view message) override;

  // Another node's admin traffic (ControlApi::AnswerNode hands it here).
  static bool Handles(std::string_view method);
  void AnswerNode(std::string_view method, const std::string& body,
                  absl::AnyInvocable<void(std::string) &&> answer);

 private:
  using Deferred = std::function<void(socketio::Socket::Task)>;
  // Sends `event(args)` to this node's admins and, when others watch, to theirs.
  void Notify(std::string_view event, boost::json::array args);
  void DeliverHere(const core::SharedPacket& packet);
  void Forward(boost::json::array item);
  void Flush();
  void Tick();
  void Report();
  void SendAllSockets(Deferred admin);
  // This node's sockets, serialized, gathered over the shards.
  void LocalSockets(absl::AnyInvocable<void(boost::json::array) &&> done);
  void UpdateWatching();
  bool OthersWatch() const;
  TrafficTotals Totals() const;

  const Options options_;
  net::Shards& shards_;
  core::Emitter& emitter_;
  core::Broker& broker_;
  ControlApi& api_;
  TimerThread& timers_;
  base::Counters& counters_;
  auth::AdminLogin login_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> watching_{false};
  std::atomic<int64_t> others_watch_until_ms_{0};
  // Lets timer tasks and shard tasks tell whether the hub still exists.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Deferred> admins_ ABSL_GUARDED_BY(mutex_);
  // Sessions made at login, emitted once the CONNECT is answered.
  absl::flat_hash_map<std::string, std::string> new_sessions_ ABSL_GUARDED_BY(mutex_);
  boost::json::array outbox_ ABSL_GUARDED_BY(mutex_);
  TrafficTotals last_totals_ ABSL_GUARDED_BY(mutex_);
  bool reported_while_watching_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace roomcast::control
