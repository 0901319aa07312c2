#include "server/net/listener.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "server/net/http_connection.h"
#include "server/net/tls_tunnel.h"

namespace roomcast::net {

using boost::asio::ip::tcp;

Listener::Listener(Shards& shards, const Router& router)
    : shards_(shards), router_(router), acceptor_(shards[0].io()), backoff_(shards[0].io()) {}

absl::Status Listener::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: '", host, "'"));
  }
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec && address.is_v6() && address.to_v6().is_unspecified()) {
    acceptor_.set_option(boost::asio::ip::v6_only(false), ec);
  }
  if (!ec) {
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on [", host, "]:", port, ": ", ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  return absl::OkStatus();
}

void Listener::Start() {
  boost::asio::post(acceptor_.get_executor(), [this] { Accept(); });
}

void Listener::Accept() {
  Shard& shard = shards_[next_shard_];
  next_shard_ = (next_shard_ + 1) % shards_.size();
  acceptor_.async_accept(
      shard.io(), [this, &shard](boost::system::error_code ec, tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) {
          return;
        }
        if (ec) {
          // Such as EMFILE: transient, so back off a little and keep accepting.
          backoff_.expires_after(std::chrono::milliseconds(50));
          backoff_.async_wait([this](boost::system::error_code wait_ec) {
            if (!wait_ec) {
              Accept();
            }
          });
          return;
        }
        std::unique_ptr<UnattachedConnections::Slot> slot;
        if (unattached_ != nullptr) {
          slot = unattached_->Acquire(socket.remote_endpoint(ec).address());
          if (slot == nullptr) {
            socket.close(ec);  // Past a cap: counted there.
            Accept();
            return;
          }
        }
        socket.set_option(tcp::no_delay(true), ec);
        if (tls_ != nullptr) {
          auto tunnel = std::make_shared<TlsTunnel>(std::move(socket), tls_->Get(), shard, router_,
                                                    std::move(slot));
          boost::asio::post(shard.io(), [tunnel] { tunnel->Start(); });
          Accept();
          return;
        }
        auto connection =
            std::make_shared<HttpConnection>(std::move(socket), shard, router_, std::move(slot));
        // Started on its own shard's thread, which owns it from now on.
        boost::asio::post(shard.io(), [connection] { connection->Start(); });
        Accept();
      });
}

void Listener::Stop() {
  boost::asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
}

}  // namespace roomcast::net
