#include "server/net/tls_tunnel.h"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>

#include "server/net/http_connection.h"

namespace roomcast::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// A client that stops reading holds its tunnel this long at most; the inner
// side's own limits (send queue, heartbeat) act on what waits behind it.
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);

}  // namespace

TlsTunnel::TlsTunnel(tcp::socket socket, std::shared_ptr<asio::ssl::context> context, Shard& shard,
                     const Router& router, std::unique_ptr<UnattachedConnections::Slot> slot)
    : context_(std::move(context)),
      tls_(beast::tcp_stream(std::move(socket)), *context_),
      inner_(shard.io()),
      write_deadline_(shard.io()),
      shard_(shard),
      router_(router),
      slot_(std::move(slot)) {
  beast::error_code ec;
  remote_address_ = tls_.next_layer().socket().remote_endpoint(ec).address();
}

void TlsTunnel::Start() {
  tls_.next_layer().expires_after(kHandshakeTimeout);
  tls_.async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
}

void TlsTunnel::OnHandshake(beast::error_code ec) {
  tls_.next_layer().expires_never();
  if (ec) {
    spdlog::debug("net: TLS handshake failed remote={} error={}", remote_address_.to_string(),
                  ec.message());
    CloseAll();
    return;
  }
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    CloseAll();
    return;
  }
  inner_.assign(asio::local::stream_protocol(), fds[0], ec);
  // The HttpConnection takes the other end as if it were the client's socket.
  tcp::socket plain(shard_.io());
  if (!ec) plain.assign(tcp::v6(), fds[1], ec);
  if (ec) {
    ::close(fds[1]);
    CloseAll();
    return;
  }
  up_ = std::make_unique<std::array<char, kChunk>>();
  down_ = std::make_unique<std::array<char, kChunk>>();
  std::make_shared<HttpConnection>(std::move(plain), remote_address_, shard_, router_,
                                   std::move(slot_))
      ->Start();
  ReadClient();
  ReadInner();
}

void TlsTunnel::ReadClient() {
  client_busy_ = true;
  tls_.async_read_some(asio::buffer(*up_),
                       [self = shared_from_this()](beast::error_code ec, size_t size) {
                         self->OnClientRead(ec, size);
                       });
}

void TlsTunnel::OnClientRead(beast::error_code ec, size_t size) {
  client_busy_ = false;
  if (finishing_) {
    ShutdownTls();
    return;
  }
  if (ec) {
    // EOF, close_notify or a reset: the inner side reads EOF and ends.
    client_done_ = true;
    beast::error_code ignored;
    inner_.shutdown(asio::socket_base::shutdown_send, ignored);
    return;
  }
  client_busy_ = true;
  asio::async_write(
      inner_, asio::buffer(up_->data(), size),
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnInnerWritten(ec); });
}

void TlsTunnel::OnInnerWritten(beast::error_code ec) {
  client_busy_ = false;
  if (finishing_) {
    ShutdownTls();
    return;
  }
  if (ec) {
    client_done_ = true;
    return;  // The inner side is gone: its read ends the tunnel.
  }
  ReadClient();
}

void TlsTunnel::ReadInner() {
  inner_.async_read_some(asio::buffer(*down_),
                         [self = shared_from_this()](beast::error_code ec, size_t size) {
                           self->OnInnerRead(ec, size);
                         });
}

void TlsTunnel::OnInnerRead(beast::error_code ec, size_t size) {
  if (ec) {
    Finish();
    return;
  }
  write_deadline_.expires_after(kWriteTimeout);
  write_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) {
      self->CloseAll();
    }
  });
  asio::async_write(
      tls_, asio::buffer(down_->data(), size),
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnClientWritten(ec); });
}

void TlsTunnel::OnClientWritten(beast::error_code ec) {
  write_deadline_.cancel();
  if (ec) {
    CloseAll();
    return;
  }
  ReadInner();
}

void TlsTunnel::Finish() {
  finishing_ = true;
  if (!client_busy_) {
    ShutdownTls();
    return;
  }
  // A pending read from the client is cut short; its handler shuts down.
  // A write to inner ends on its own (inner is closing).
  beast::error_code ignored;
  tls_.next_layer().socket().cancel(ignored);
}

void TlsTunnel::ShutdownTls() {
  if (shutdown_started_) {
    return;
  }
  shutdown_started_ = true;
  if (client_done_) {
    CloseAll();
    return;
  }
  tls_.next_layer().expires_after(kShutdownTimeout);
  tls_.async_shutdown([self = shared_from_this()](beast::error_code) { self->CloseAll(); });
}

void TlsTunnel::CloseAll() {
  beast::error_code ignored;
  write_deadline_.cancel();
  tls_.next_layer().socket().close(ignored);
  inner_.close(ignored);
}

}  // namespace roomcast::net
