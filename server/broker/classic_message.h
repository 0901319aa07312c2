#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/core/event.h"
#include "server/core/room_command.h"

namespace roomcast::broker {

// A broadcast in the format of Socket.IO's classic Redis adapter and of
// @socket.io/redis-emitter: MessagePack [uid, {type, data: [event, ...args],
// nsp}, {rooms, except, flags: {volatile}}]. Binary arguments arrive as
// MessagePack bin values and leave as Socket.IO attachments.
struct ClassicBroadcast {
  std::string uid;    // "emitter" for the emitter; a server's id for the adapter.
  core::Event event;  // The packet encoded for this node's sockets; not positioned.
};

absl::StatusOr<ClassicBroadcast> DecodeClassicBroadcast(std::string_view message);

// The same format from one of this node's events (the compat mode publishes
// every emit so for Node.js servers on the classic adapter); an event whose
// packet cannot be read back is an error.
absl::StatusOr<std::string> EncodeClassicBroadcast(std::string_view uid, const core::Event& event);

// A request on the classic request channel (JSON), from an emitter or a
// Node.js server on the classic adapter.
struct ClassicRequest {
  enum class Kind {
    kCommand,       // socketsJoin (2), socketsLeave (3), disconnectSockets (4)
    kFetchSockets,  // fetchSockets (5): this node's matching sockets
    kSocketIds,     // sockets (0): their ids
    kAllRooms,      // allRooms (1)
    kIgnored,       // serverSideEmit, broadcasts with acks, what a newer adapter sends
  };
  Kind kind = Kind::kIgnored;
  std::string request_id;     // Empty: nobody waits for an answer.
  core::RoomCommand command;  // kCommand; the targets and except of the others too.
};

absl::StatusOr<ClassicRequest> DecodeClassicRequest(std::string_view nsp, std::string_view message);

// The answer to a request that has one, as the adapter expects it on the
// response channel.
std::string EncodeClassicResponse(const ClassicRequest& request,
                                  const std::vector<core::SocketSummary>& sockets);

}  // namespace roomcast::broker
