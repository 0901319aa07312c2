#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "server/core/shard_set.h"

namespace roomcast::core {

// Make the sockets of some rooms join or leave rooms, or disconnect them:
// what the control plane, another node or a Socket.IO emitter
// (socketsJoin, socketsLeave, disconnectSockets) asks of this node's sockets.
struct RoomCommand {
  enum class Kind { kJoin, kLeave, kDisconnect };
  Kind kind = Kind::kJoin;
  std::string nsp = "/";
  std::vector<std::string> targets;  // Sockets in any of these rooms; empty: the namespace.
  std::vector<std::string> except;   // Minus the sockets in any of these.
  std::vector<std::string> rooms;    // kJoin / kLeave: the rooms to join or leave.
  bool close_connection = false;     // kDisconnect: end the whole connection.
};

// Runs `command` on every shard; `done` gets the number of sockets it acted on.
void ApplyRoomCommand(ShardSet& shards, RoomCommand command,
                      absl::AnyInvocable<void(uint64_t) &&> done);

// A socket as another server asks about it (Socket.IO's fetchSockets).
struct SocketSummary {
  std::string id;
  std::vector<std::string> rooms;  // Its own id room included, as Socket.IO has it.
};

// The sockets of `nsp` in any of `targets` (empty: all) and none of
// `except`, over every shard, on one of their threads.
void FindSockets(ShardSet& shards, std::string nsp, std::vector<std::string> targets,
                 std::vector<std::string> except,
                 absl::AnyInvocable<void(std::vector<SocketSummary>) &&> done);

}  // namespace roomcast::core
