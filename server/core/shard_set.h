#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "server/core/room_index.h"

namespace roomcast::core {

// Where sockets live: one RoomIndex per shard, each used only on its shard.
class ShardSet {
 public:
  virtual ~ShardSet() = default;
  virtual size_t size() const = 0;
  // Runs `task` on shard `shard`'s thread, later, with that shard's rooms.
  virtual void Run(size_t shard, absl::AnyInvocable<void(RoomIndex&) &&> task) = 0;
};

// Runs `work` on every shard and hands all the results, in shard order, to
// `done` on the thread of the shard that finished last.
template <typename T>
void GatherFromShards(ShardSet& shards, std::function<T(RoomIndex&)> work,
                      absl::AnyInvocable<void(std::vector<T>) &&> done) {
  struct State {
    std::function<T(RoomIndex&)> work;
    absl::AnyInvocable<void(std::vector<T>) &&> done;
    std::vector<T> results;
    std::atomic<size_t> remaining;
  };
  auto state = std::make_shared<State>();
  state->work = std::move(work);
  state->done = std::move(done);
  state->results.resize(shards.size());
  state->remaining = shards.size();
  for (size_t shard = 0; shard < shards.size(); ++shard) {
    shards.Run(shard, [state, shard](RoomIndex& rooms) {
      state->results[shard] = state->work(rooms);
      // acq_rel: the last shard sees every other shard's result.
      if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::move(state->done)(std::move(state->results));
      }
    });
  }
}

}  // namespace roomcast::core
