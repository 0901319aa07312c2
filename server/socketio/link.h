#pragma once

#include <functional>
#include <string_view>

#include "absl/functional/any_invocable.h"

#include "server/core/encoded_packet.h"

namespace roomcast::socketio {

// The Engine.IO session under a Socket.IO connection, as that layer sees it.
class Link {
 public:
  virtual ~Link() = default;
  // Queues a packet for the client; false when it was dropped (volatile, queue full).
  virtual bool Send(const core::SharedPacket& packet) = 0;
  // Ends the whole Engine.IO session.
  virtual void Close(std::string_view reason) = 0;
  // A function, callable from any thread, that runs a task later on this
  // session's thread (for replies to work done elsewhere).
  using Task = absl::AnyInvocable<void() &&>;
  virtual std::function<void(Task)> Poster() const = 0;
  // The Engine.IO session's id and current transport, for the Admin UI.
  virtual std::string_view session_id() const { return {}; }
  virtual std::string_view transport_name() const { return {}; }
};

}  // namespace roomcast::socketio
