#include "server/core/room_command.h"

#include <atomic>
#include <iterator>
#include <memory>

namespace roomcast::core {
namespace {

uint64_t ApplyOnShard(RoomIndex& index, const RoomCommand& command) {
  if (command.kind != RoomCommand::Kind::kDisconnect) {
    std::vector<Member*> members = index.Select(command.nsp, command.targets, command.except);
    for (Member* member : members) {
      for (const std::string& room : command.rooms) {
        command.kind == RoomCommand::Kind::kJoin ? member->JoinRoom(room) : member->LeaveRoom(room);
      }
    }
    return members.size();
  }
  // By id, looked up again one at a time: closing a connection also removes
  // its other sockets, which may be on this list.
  std::vector<std::string> ids;
  for (Member* member : index.Select(command.nsp, command.targets, command.except)) {
    ids.push_back(member->id());
  }
  uint64_t disconnected = 0;
  for (const std::string& id : ids) {
    std::vector<Member*> member = index.Select(command.nsp, {&id, 1}, {});
    if (!member.empty()) {
      member.front()->Disconnect(command.close_connection);
      ++disconnected;
    }
  }
  return disconnected;
}

}  // namespace

void ApplyRoomCommand(ShardSet& shards, RoomCommand command,
                      absl::AnyInvocable<void(uint64_t) &&> done) {
  auto shared = std::make_shared<const RoomCommand>(std::move(command));
  // Every shard reports to the same interest (none on a single node).
  auto interest = std::make_shared<std::atomic<RoomInterest*>>(nullptr);
  GatherFromShards<uint64_t>(
      shards,
      [shared, interest](RoomIndex& index) {
        interest->store(index.interest(), std::memory_order_relaxed);
        return ApplyOnShard(index, *shared);
      },
      [shared, interest, done = std::move(done)](const std::vector<uint64_t>& counts) mutable {
        uint64_t total = 0;
        for (uint64_t count : counts) {
          total += count;
        }
        RoomInterest* cluster = interest->load(std::memory_order_relaxed);
        if (shared->kind != RoomCommand::Kind::kJoin || total == 0 || cluster == nullptr) {
          std::move(done)(total);
          return;
        }
        // Done once this node receives the rooms' traffic, as a browser's
        // own join is (Redis down: the sockets joined here all the same).
        cluster->WhenReceiving(shared->nsp, shared->rooms,
                               [total, done = std::move(done)](const absl::Status&) mutable {
                                 std::move(done)(total);
                               });
      });
}

void FindSockets(ShardSet& shards, std::string nsp, std::vector<std::string> targets,
                 std::vector<std::string> except,
                 absl::AnyInvocable<void(std::vector<SocketSummary>) &&> done) {
  GatherFromShards<std::vector<SocketSummary>>(
      shards,
      [nsp = std::move(nsp), targets = std::move(targets),
       except = std::move(except)](RoomIndex& index) {
        std::vector<SocketSummary> found;
        for (Member* member : index.Select(nsp, targets, except)) {
          found.push_back({member->id(), member->RoomNames()});
        }
        return found;
      },
      [done = std::move(done)](std::vector<std::vector<SocketSummary>> shards) mutable {
        std::vector<SocketSummary> all;
        for (std::vector<SocketSummary>& shard : shards) {
          std::move(shard.begin(), shard.end(), std::back_inserter(all));
        }
        std::move(done)(std::move(all));
      });
}

}  // namespace roomcast::core
