#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include "absl/functional/any_invocable.h"
#include "server/net/http_types.h"
#include "server/net/router.h"
#include "server/net/shard.h"
#include "server/net/transport.h"
#include "server/net/unattached_connections.h"

namespace roomcast::net {

// One HTTP/1.1 connection: reads requests one at a time, hands each to the
// router, and writes the reply when the handler gives it (at once, or later
// for a held long-poll). A handler may also take the stream (WebSocket) or
// move the connection to the shard that owns the session it names. Until a
// request reaches a session it holds an unattached slot (if given one).
class HttpConnection final : public PollExchange,
                             public std::enable_shared_from_this<HttpConnection> {
 public:
  using Slot = std::unique_ptr<UnattachedConnections::Slot>;

  HttpConnection(boost::asio::ip::tcp::socket socket, Shard& shard, const Router& router,
                 Slot slot = nullptr);
  // For a socket whose peer is not the client (a TlsTunnel's socket pair).
  HttpConnection(boost::asio::ip::tcp::socket socket, boost::asio::ip::address remote_address,
                 Shard& shard, const Router& router, Slot slot = nullptr);

  void Start();
  // A request on it reached an Engine.IO session: no longer unattached.
  void Attach() { slot_.reset(); }
  Shard& shard() { return shard_; }
  const boost::asio::ip::address& remote_address() const { return remote_address_; }
  const Router& router() const { return router_; }

  // PollExchange: writes the response, then reads the next request or closes.
  void Reply(Response response) override;
  void WatchForClose(absl::AnyInvocable<void() &&> on_close) override;
  // The raw stream and the bytes read past the request, for a WebSocket.
  boost::beast::tcp_stream TakeStream();
  // Continues this connection on `target`'s thread, starting with `request`.
  void MoveTo(Shard& target, Request request);

 private:
  // The next request: its first byte within the idle timeout (kept alive),
  // then its headers within the header timeout.
  void ReadRequest();
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void OnRead(boost::beast::error_code ec);
  // A deadline cut the connection off: counted where the rules say.
  void CountTimeout(std::atomic<uint64_t> base::Counters::*counter);
  void Close();
  void Dispatch(Request request);
  void RejectOversized();
  void WaitForPeerClose(const std::shared_ptr<absl::AnyInvocable<void() &&>>& on_close);
  void LingerAndClose();

  boost::beast::tcp_stream stream_;
  Shard& shard_;
  const Router& router_;
  boost::asio::ip::address remote_address_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> pending_write_;
  Slot slot_;
  bool waiting_reply_ = false;
  bool taken_ = false;
};

}  // namespace roomcast::net
