#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/status/statusor.h"

namespace roomcast::net {

// Where an outbound request goes: http(s)://host[:port]/path?query.
struct HttpTarget {
  bool tls = false;
  std::string host;  // An IPv6 literal without its brackets.
  std::string port;
  std::string path;  // With the query.

  static absl::StatusOr<HttpTarget> Parse(std::string_view url);
};

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string cache_control;
};

// The one HTTP client of roomcastd's outbound calls (the client-events
// webhook, the JWKS fetch): per Send, resolve, connect, for https:// a TLS
// handshake verified against the system CAs (or SSL_CERT_FILE) and the host
// name, one request and its response. Runs on `io`'s thread; `done` runs
// there once: the reply (any HTTP status), UNAVAILABLE with the network's
// reason, or DEADLINE_EXCEEDED when `timeout` passed first.
class HttpClient {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Done = std::function<void(absl::StatusOr<HttpReply>)>;

  HttpClient(boost::asio::io_context& io, HttpTarget target);
  const HttpTarget& target() const { return target_; }

  // Sets Host and `Connection: close`; a body over `body_limit` is an error.
  void Send(Request request, size_t body_limit, std::chrono::milliseconds timeout, Done done);

 private:
  struct Exchange;
  template <typename Stream>
  void Run(const std::shared_ptr<Exchange>& exchange, std::shared_ptr<Stream> stream);

  boost::asio::io_context& io_;
  const HttpTarget target_;
  std::optional<boost::asio::ssl::context> tls_;
};

}  // namespace roomcast::net
