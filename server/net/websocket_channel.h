#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "server/codec/websocket_frame.h"
#include "server/codec/websocket_message_reader.h"
#include "server/core/encoded_packet.h"
#include "server/net/http_types.h"
#include "server/net/transport.h"

namespace roomcast::net {

// One WebSocket connection carrying Engine.IO frames. Beast answers the
// opening handshake; after it the connection is a bare socket: reads wait
// for readiness and go through one buffer per thread (an idle connection
// holds no read buffer), and everything waiting to go out leaves in one
// write (packets a session queued in one turn of the loop, pongs, the close).
class WebSocketChannel final : public MessageChannel,
                               public std::enable_shared_from_this<WebSocketChannel> {
 public:
  // `io` is the shard's: the socket moves onto it with the concrete
  // executor type, which keeps the socket and its pending wait small.
  WebSocketChannel(boost::asio::io_context& io, boost::beast::tcp_stream stream,
                   size_t max_message_bytes);

  // Completes the HTTP upgrade; `on_done` gets the outcome.
  void Accept(Request request, Callback on_done);
  // MessageChannel. After Close the connection ends when the client
  // answers, or is cut after a grace period if it does not read.
  void StartReading(FrameHandler on_frame, Callback on_end) override;
  void WritePackets(std::span<const core::SharedPacket> packets, Callback on_done) override;
  void Close(std::string_view reason = {}) override;

 private:
  // Bytes to write, in order: small ones copied together, large payloads
  // referenced from their shared packet (one copy for all recipients).
  struct Outbox {
    struct Segment {
      const char* data;  // nullptr: `size` bytes of `copied` from `offset`
      size_t offset;
      size_t size;
    };
    std::string copied;
    std::vector<Segment> segments;
    std::vector<core::SharedPacket> held;
    std::vector<Callback> callbacks;
    bool empty() const { return segments.empty(); }
    void Append(std::string_view bytes, const core::SharedPacket* owner);
  };
  // Exists only while something is queued or being written: an idle
  // connection holds no write buffers.
  struct Writes {
    Outbox queued;
    Outbox writing;
    std::vector<boost::asio::const_buffer> buffers;
    bool in_flight = false;
  };

  void WaitReadable();
  void OnReadable(boost::beast::error_code ec);
  // False when the connection is done reading.
  bool Consume(char* data, size_t size, size_t& consumed);
  void OnIncoming(const websocket::Incoming& incoming);
  void QueueFrame(websocket::Opcode opcode, std::string_view payload,
                  const core::SharedPacket* owner = nullptr);
  void QueueClose(websocket::CloseCode code, std::string_view reason);
  Outbox& Queue();
  void StartWrite();
  void CancelCloseDeadline();
  void FinishWrite(boost::beast::error_code ec);
  void End(boost::beast::error_code ec);

  std::optional<boost::beast::websocket::stream<boost::beast::tcp_stream>> handshake_;
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                  boost::asio::io_context::executor_type>;
  using Timer =
      boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                        boost::asio::wait_traits<std::chrono::steady_clock>,
                                        boost::asio::io_context::executor_type>;
  Socket socket_;
  websocket::MessageReader reader_;
  std::string partial_;  // an incomplete frame, until the rest arrives
  FrameHandler on_frame_;
  Callback on_end_;
  std::unique_ptr<Writes> writes_;
  bool close_queued_ = false;
  bool close_written_ = false;
  bool peer_closed_ = false;
  bool ended_ = false;
  // Ends a connection whose close does not complete (a client that stopped
  // reading); made when the close is queued.
  std::unique_ptr<Timer> close_deadline_;
};

}  // namespace roomcast::net
