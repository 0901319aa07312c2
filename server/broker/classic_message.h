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

// A request on the classic request channel (JSON): socketsJoin (type 2),
// socketsLeave (3) and disconnectSockets (4) become a command; the other
// types are none of this node's business (nullopt).
absl::StatusOr<std::optional<core::RoomCommand>> DecodeClassicRequest(std::string_view nsp,
                                                                      std::string_view message);

}  // namespace roomcast::broker
