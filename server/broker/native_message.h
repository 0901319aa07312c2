#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/core/event.h"

namespace roomcast::broker {

// What a Roomcast node publishes for an event, in MessagePack: the node
// writes the body (origin, namespace, rooms, except, volatile, the encoded
// Socket.IO packet, its attachments and the emit's time); the log script
// puts the event's offset and epoch in front when it publishes.
std::string EncodeNativeBody(std::string_view origin, const core::Event& event);

// A body as the log stream keeps it (without offset and epoch).
absl::StatusOr<core::Event> DecodeNativeBody(std::string_view body);

struct NativeMessage {
  std::string origin;  // The node that published it.
  core::Event event;   // Positioned; the packet ready for this node's sockets.
};

// Offset, epoch, then the body; nullopt (read no further) for a message
// `unless_from` published itself.
absl::StatusOr<std::optional<NativeMessage>> DecodeNativeMessage(std::string_view message,
                                                                 std::string_view unless_from = {});

}  // namespace roomcast::broker
