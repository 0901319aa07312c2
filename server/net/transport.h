#pragma once

#include <functional>
#include <span>
#include <string_view>

#include <boost/beast/core/error.hpp>

#include "absl/functional/any_invocable.h"
#include "server/core/encoded_packet.h"
#include "server/net/http_types.h"

namespace roomcast::net {

// The two transports as an Engine.IO session sees them. HttpConnection and
// WebSocketChannel are the real ones; the session fuzz target drives a
// session through fakes of both, with no sockets.

// One HTTP exchange whose answer a session may hold (a long-poll GET) or
// give at once (a POST).
class PollExchange {
 public:
  virtual ~PollExchange() = default;
  // Answers the request; later calls are ignored.
  virtual void Reply(Response response) = 0;
  // While the answer is held: `on_close` runs if the client goes away first.
  virtual void WatchForClose(absl::AnyInvocable<void() &&> on_close) = 0;
};

// A message channel (a WebSocket after its handshake) carrying Engine.IO frames.
class MessageChannel {
 public:
  using FrameHandler = std::function<void(std::string_view data, bool binary)>;
  using Callback = std::function<void(boost::beast::error_code)>;

  virtual ~MessageChannel() = default;
  // Reads until the channel ends; `on_end` runs once, with the reason.
  virtual void StartReading(FrameHandler on_frame, Callback on_end) = 0;
  // Queues the packets' frames (text, then attachments as binary frames);
  // `on_done` runs once they are all written (possibly before this returns).
  virtual void WritePackets(std::span<const core::SharedPacket> packets, Callback on_done) = 0;
  void WritePacket(const core::SharedPacket& packet, Callback on_done) {
    WritePackets({&packet, 1}, std::move(on_done));
  }
  // A close frame (with `reason` for the client, when given) after what is queued.
  virtual void Close(std::string_view reason = {}) = 0;
};

}  // namespace roomcast::net
