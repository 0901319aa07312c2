#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/container/flat_hash_map.h"
#include "server/core/emitter.h"
#include "server/core/room_index.h"
#include "server/net/timer_wheel.h"

namespace roomcast::net {

class EngineSession;

// One core's share of the server: an io_context on its own thread, the
// sessions pinned to it and its slice of the room index. Everything in a
// shard is touched only from its thread; other threads `post` to it.
class Shard {
 public:
  explicit Shard(size_t index);

  size_t index() const { return index_; }
  boost::asio::io_context& io() { return io_; }
  core::RoomIndex& rooms() { return rooms_; }
  TimerWheel& timers() { return timers_; }
  absl::flat_hash_map<std::string, std::shared_ptr<EngineSession>>& sessions() { return sessions_; }

  void Start();
  // Lets run() return once no work is left (sessions closed, sockets gone).
  void ReleaseWork() { work_.reset(); }
  void Stop() { io_.stop(); }
  void Join();

 private:
  size_t index_;
  // Before io_: sessions in handlers still pending when io_ goes leave their rooms here.
  core::RoomIndex rooms_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  TimerWheel timers_{io_};  // after io_, before the sessions that hook into it
  absl::flat_hash_map<std::string, std::shared_ptr<EngineSession>> sessions_;
};

// All shards; also the core's view of them for fan-out.
class Shards final : public core::ShardSet {
 public:
  explicit Shards(size_t count);

  size_t size() const override { return shards_.size(); }
  void Run(size_t shard, absl::AnyInvocable<void(core::RoomIndex&) &&> task) override;

  Shard& operator[](size_t i) { return *shards_[i]; }
  // The shard a session id belongs to (its first character says which).
  Shard* ForSessionId(std::string_view sid);
  // A new session id that names `shard`.
  std::string NewSessionId(const Shard& shard) const;

  void StartAll();
  void ReleaseWorkAll();
  void StopAll();
  void JoinAll();

 private:
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace roomcast::net
