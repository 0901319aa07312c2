#include "server/net/http_connection.h"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/codec/engineio_handshake.h"
#include "server/net/handler_memory.h"

namespace roomcast::net {
namespace {

namespace beast = boost::beast;
using boost::asio::ip::tcp;

constexpr auto kLingerTimeout = std::chrono::seconds(2);
// Read at once when a kept-alive connection becomes readable.
constexpr size_t kFirstRead = 1024;
// Large NextAuth sessions arrive as several cookies: headers as big as
// Node.js allows (16 KiB) are accepted; more get 431.
constexpr uint32_t kHeaderLimit = 16 * 1024;

}  // namespace

HttpConnection::HttpConnection(tcp::socket socket, Shard& shard, const Router& router, Slot slot)
    : stream_(std::move(socket)), shard_(shard), router_(router), slot_(std::move(slot)) {
  beast::error_code ec;
  remote_address_ = stream_.socket().remote_endpoint(ec).address();
}

HttpConnection::HttpConnection(tcp::socket socket, boost::asio::ip::address remote_address,
                               Shard& shard, const Router& router, Slot slot)
    : stream_(std::move(socket)),
      shard_(shard),
      router_(router),
      remote_address_(std::move(remote_address)),
      slot_(std::move(slot)) {}

// A new connection's first request is due within the header timeout.
void HttpConnection::Start() { ReadHeader(); }

void HttpConnection::ReadRequest() {
  if (buffer_.size() > 0) {
    ReadHeader();  // Pipelined: the next request has begun.
    return;
  }
  stream_.expires_after(router_.rules().idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(kFirstRead),
      WithHandlerMemory([self = shared_from_this()](beast::error_code ec, size_t size) {
        self->buffer_.commit(size);
        if (ec == beast::error::timeout) {
          self->CountTimeout(&base::Counters::idle_timeouts);
        }
        if (ec) {
          self->Close();
          return;
        }
        self->ReadHeader();
      }));
}

void HttpConnection::ReadHeader() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(router_.rules().body_limit);
  stream_.expires_after(router_.rules().header_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      WithHandlerMemory(
          [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); }));
}

void HttpConnection::OnHeader(beast::error_code ec) {
  if (ec == beast::error::timeout) {
    CountTimeout(&base::Counters::header_timeouts);
    Close();
    return;
  }
  if (ec || parser_->is_done()) {
    OnRead(ec);
    return;
  }
  stream_.expires_after(router_.rules().idle_timeout);  // The body.
  http::async_read(stream_, buffer_, *parser_,
                   WithHandlerMemory([self = shared_from_this()](beast::error_code ec, size_t) {
                     self->OnRead(ec);
                   }));
}

void HttpConnection::CountTimeout(std::atomic<uint64_t> base::Counters::*counter) {
  if (base::Counters* counters = router_.rules().counters) {
    base::Counters::Bump(counters->*counter);
  }
}

void HttpConnection::Close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

void HttpConnection::OnRead(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    RejectOversized();
    return;
  }
  if (ec == http::error::header_limit) {
    Request request;
    Response response =
        JsonResponse(request, http::status::request_header_fields_too_large,
                     R"({"code":3,"message":"request headers too large","details":[]})");
    response.keep_alive(false);
    waiting_reply_ = true;
    Reply(std::move(response));
    return;
  }
  if (ec) {
    Close();
    return;
  }
  stream_.expires_never();  // Held polls are timed by the Engine.IO heartbeat.
  Dispatch(parser_->release());
}

void HttpConnection::Dispatch(Request request) {
  waiting_reply_ = true;
  router_.Dispatch(shared_from_this(), std::move(request));
}

void HttpConnection::RejectOversized() {
  Request& request = parser_->get();
  Response response = JsonResponse(request, http::status::payload_too_large,
                                   R"({"code":3,"message":"request body too large","details":[]})");
  response.keep_alive(false);
  waiting_reply_ = true;
  Reply(std::move(response));
}

void HttpConnection::Reply(Response response) {
  if (!waiting_reply_ || taken_) {
    return;
  }
  waiting_reply_ = false;
  stream_.socket().cancel();  // Ends a WatchForClose wait, if any.
  pending_write_ = std::make_shared<Response>(std::move(response));
  stream_.expires_after(router_.rules().idle_timeout);
  http::async_write(stream_, *pending_write_,
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      const bool keep_alive = self->pending_write_->keep_alive();
                      self->pending_write_.reset();
                      if (ec) {
                        return;
                      }
                      if (keep_alive) {
                        self->ReadRequest();
                      } else {
                        self->LingerAndClose();
                      }
                    });
}

// Half-closes and drains what the client still sends (say, the rest of an
// oversized body), so it reads our response instead of a connection reset.
void HttpConnection::LingerAndClose() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTimeout);
  auto scratch = std::make_shared<std::array<char, 16384>>();
  auto drain = std::make_shared<std::function<void(beast::error_code, size_t)>>();
  *drain = [self = shared_from_this(), scratch, drain](beast::error_code ec, size_t) {
    if (ec) {
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
      *drain = nullptr;  // Breaks the self-reference.
      return;
    }
    self->stream_.async_read_some(boost::asio::buffer(*scratch), *drain);
  };
  stream_.async_read_some(boost::asio::buffer(*scratch), *drain);
}

void HttpConnection::WatchForClose(absl::AnyInvocable<void() &&> on_close) {
  auto callback = std::make_shared<absl::AnyInvocable<void() &&>>(std::move(on_close));
  WaitForPeerClose(callback);
}

void HttpConnection::WaitForPeerClose(
    const std::shared_ptr<absl::AnyInvocable<void() &&>>& on_close) {
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), on_close](beast::error_code ec) {
        if (ec || !self->waiting_reply_) {
          return;  // Cancelled: the reply was written.
        }
        // Readable: a pipelined request (read after the reply), the client's
        // FIN or reset, or a wakeup with nothing behind it. Only a peek tells
        // them apart: `available()` is 0 for the last two alike.
        char byte;
        const ssize_t peeked =
            ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (peeked > 0) {
          return;
        }
        if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          self->WaitForPeerClose(on_close);  // nothing there yet: keep watching
          return;
        }
        self->waiting_reply_ = false;  // EOF or reset: the client left.
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        std::move (*on_close)();
      });
}

beast::tcp_stream HttpConnection::TakeStream() {
  taken_ = true;
  return std::move(stream_);
}

void HttpConnection::MoveTo(Shard& target, Request request) {
  beast::error_code ec;
  tcp::socket& socket = stream_.socket();
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) {
    return;
  }
  const auto fd = socket.release(ec);
  if (ec) {
    return;
  }
  taken_ = true;
  boost::asio::post(target.io(), [&target, &router = router_, fd, protocol = local.protocol(),
                                  remote = remote_address_, buffer = std::move(buffer_),
                                  request = std::move(request), slot = std::move(slot_)]() mutable {
    tcp::socket socket(target.io(), protocol, fd);
    auto moved = std::make_shared<HttpConnection>(std::move(socket), remote, target, router,
                                                  std::move(slot));
    moved->buffer_ = std::move(buffer);
    moved->stream_.expires_never();
    moved->Dispatch(std::move(request));
  });
}

}  // namespace roomcast::net
