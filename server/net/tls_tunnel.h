#pragma once

#include <array>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/net/router.h"
#include "server/net/shard.h"
#include "server/net/unattached_connections.h"

namespace roomcast::net {

// One HTTPS connection: after the TLS handshake its plaintext goes through
// a socket pair to an ordinary HttpConnection on the same shard, so every
// route, the WebSocket channel and cross-shard poll moves (which pass a
// file descriptor) work unchanged, and plain connections pay nothing for
// TLS. When the inner side ends, the client gets a close_notify.
class TlsTunnel final : public std::enable_shared_from_this<TlsTunnel> {
 public:
  // `slot` goes to the HttpConnection inside.
  TlsTunnel(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context,
            Shard& shard, const Router& router,
            std::unique_ptr<UnattachedConnections::Slot> slot = nullptr);

  // On the shard's thread.
  void Start();

 private:
  void OnHandshake(boost::beast::error_code ec);
  // Client to inner.
  void ReadClient();
  void OnClientRead(boost::beast::error_code ec, size_t size);
  void OnInnerWritten(boost::beast::error_code ec);
  // Inner to client.
  void ReadInner();
  void OnInnerRead(boost::beast::error_code ec, size_t size);
  void OnClientWritten(boost::beast::error_code ec);
  // Sends close_notify once the client direction is idle, then closes.
  void Finish();
  void ShutdownTls();
  void CloseAll();

  static constexpr size_t kChunk = 16 * 1024;  // one TLS record

  std::shared_ptr<boost::asio::ssl::context> context_;  // outlives the stream
  boost::beast::ssl_stream<boost::beast::tcp_stream> tls_;
  boost::asio::local::stream_protocol::socket inner_;
  boost::asio::steady_timer write_deadline_;
  Shard& shard_;
  const Router& router_;
  boost::asio::ip::address remote_address_;
  std::unique_ptr<UnattachedConnections::Slot> slot_;
  std::unique_ptr<std::array<char, kChunk>> up_;
  std::unique_ptr<std::array<char, kChunk>> down_;
  bool client_busy_ = false;  // reading from the client or writing to inner
  bool client_done_ = false;  // the client sent EOF or failed
  bool finishing_ = false;
  bool shutdown_started_ = false;
};

}  // namespace roomcast::net
