#pragma once

#include <deque>
#include <utility>
#include <vector>

#include "server/core/shard_set.h"

namespace roomcast::core {

// Shards whose tasks run when the test says so, like posted work would,
// each with its own room index.
class QueuedShards : public ShardSet {
 public:
  explicit QueuedShards(size_t n) : rooms_(n) {}
  size_t size() const override { return rooms_.size(); }
  void Run(size_t shard, absl::AnyInvocable<void(RoomIndex&) &&> task) override {
    tasks_.emplace_back(shard, std::move(task));
  }
  void RunAll() {
    while (!tasks_.empty()) {
      auto [shard, task] = std::move(tasks_.front());
      tasks_.pop_front();
      std::move(task)(rooms_[shard]);
    }
  }
  RoomIndex& rooms(size_t shard) { return rooms_[shard]; }

 private:
  std::vector<RoomIndex> rooms_;
  std::deque<std::pair<size_t, absl::AnyInvocable<void(RoomIndex&) &&>>> tasks_;
};

}  // namespace roomcast::core
