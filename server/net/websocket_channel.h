#pragma once

#include <functional>
#include <deque>
#include <memory>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "server/core/encoded_packet.h"
#include "server/net/http_types.h"

namespace roomcast::net {

// One WebSocket connection carrying Engine.IO frames: a read loop that
// hands every message to its owner, and one packet written at a time
// (its text frame, then its attachments as binary frames).
class WebSocketChannel : public std::enable_shared_from_this<WebSocketChannel> {
 public:
  using FrameHandler = std::function<void(std::string_view data, bool binary)>;
  using Callback = std::function<void(boost::beast::error_code)>;

  WebSocketChannel(boost::beast::tcp_stream stream, size_t max_message_bytes);

  // Completes the HTTP upgrade; `on_done` gets the outcome.
  void Accept(Request request, Callback on_done);
  // Reads until the connection ends; `on_end` runs once, with the reason.
  void StartReading(FrameHandler on_frame, Callback on_end);
  // Packets are written one after another (Beast allows one writer at a
  // time); `on_done` runs when this one is out.
  void WritePacket(core::SharedPacket packet, Callback on_done);
  // A close frame (with `reason` for the client to see, when given), then
  // the connection ends (the read loop sees it).
  void Close(std::string_view reason = {});

 private:
  void ReadNext();
  void WriteFrame(size_t index);
  void FinishWrite(boost::beast::error_code ec);
  void SendClose();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer read_buffer_;
  FrameHandler on_frame_;
  Callback on_end_;
  core::SharedPacket writing_;
  Callback on_written_;
  std::deque<std::pair<core::SharedPacket, Callback>> waiting_;
  bool close_requested_ = false;
  // Ends a connection whose last write is stuck (a client that stopped reading).
  boost::asio::steady_timer close_deadline_;
  std::string close_reason_;
  bool close_sent_ = false;
};

}  // namespace roomcast::net
