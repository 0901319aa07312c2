#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/broker/redis_address.h"

namespace roomcast::broker {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

// The reply's bytes (a bulk string, a status or an error).
inline std::string_view ReplyText(const redisReply& reply) {
  return reply.str == nullptr ? std::string_view() : std::string_view(reply.str, reply.len);
}

// One connection to Redis on an io_context, used from that context's thread
// only. hiredis supplies the RESP reader and the command encoder; asio (and
// asio-ssl for rediss://) the socket, which hiredis 0.14's own async API
// could not give us (no TLS, no RESP3-era pushes). Commands are pipelined;
// each reply goes to its command's callback, in order. In push mode (a
// subscriber: Redis answers one SUBSCRIBE with one reply per channel, and
// sends messages unasked) every reply goes to the push handler instead.
//
// Teardown rule: every pending asio handler holds shared_from_this(), so the
// connection outlives its own callbacks; Close() fails what is pending, once.
class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  using OnReply = absl::AnyInvocable<void(absl::StatusOr<RedisReply>) &&>;
  using OnPush = std::function<void(const redisReply&)>;
  using OnClosed = std::function<void(const absl::Status&)>;

  // `tls` is needed only for rediss:// and must outlive the connection.
  static std::shared_ptr<RedisConnection> Create(boost::asio::io_context& io,
                                                 boost::asio::ssl::context* tls,
                                                 RedisAddress address, OnClosed on_closed);
  ~RedisConnection();

  // Resolves, connects (TLS handshake for rediss://), AUTHs and SELECTs;
  // `done` gets the first failure, all within `timeout`.
  void Connect(std::chrono::milliseconds timeout, absl::AnyInvocable<void(absl::Status) &&> done);
  // From now on every reply goes to `on_push`.
  void EnterPushMode(OnPush on_push) { on_push_ = std::move(on_push); }
  void Send(const std::vector<std::string_view>& args, OnReply done);
  // For push mode: no callback (the answer arrives as a push).
  void Send(const std::vector<std::string_view>& args) { Send(args, nullptr); }
  void Close(const absl::Status& why);

  bool open() const { return open_; }
  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  RedisConnection(boost::asio::io_context& io, boost::asio::ssl::context* tls, RedisAddress address,
                  OnClosed on_closed);
  void Handshake(absl::AnyInvocable<void(absl::Status) &&> done);
  void Login(absl::AnyInvocable<void(absl::Status) &&> done);
  void Read();
  void Write();
  void OnData(size_t bytes);
  template <typename Visit>
  void WithStream(Visit&& visit);

  boost::asio::io_context& io_;
  boost::asio::ssl::context* tls_context_;
  RedisAddress address_;
  OnClosed on_closed_;
  OnPush on_push_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer connect_timer_;
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader_;
  std::vector<char> read_buffer_;
  std::string outgoing_;         // Formatted commands not yet written.
  std::string writing_;          // The ones being written.
  std::deque<OnReply> waiting_;  // One per command sent, in order (nullptr in push mode).
  bool open_ = false;
  bool established_ = false;  // Connect() succeeded: a later close is news.
  bool closed_ = false;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
};

}  // namespace roomcast::broker
