#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace roomcast {

// A small blocking HTTP/1.1 client for the HTTP shim: one kept-alive
// connection, reconnected as needed, to whichever of the host's addresses
// answers first (`localhost` means ::1 and 127.0.0.1), over TLS for https://
// (the certificate checked against the URL's host). Thread-safe.
class HttpTransport {
 public:
  struct Reply {
    int status = 0;
    std::string body;
  };

  // `base_url` like http://localhost:3001; https:// needs `tls`.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Create(
      const std::string& base_url, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  // UNAVAILABLE when the server cannot be reached or the connection drops.
  absl::StatusOr<Reply> Call(boost::beast::http::verb verb, const std::string& target,
                             const std::string& body, const std::string& api_key,
                             std::chrono::milliseconds deadline);

 private:
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  HttpTransport(std::string host, uint16_t port, std::shared_ptr<boost::asio::ssl::context> tls)
      : host_(std::move(host)), port_(port), tls_(std::move(tls)) {}
  absl::Status Connect(std::chrono::milliseconds deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool Connected() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return stream_.has_value() || tls_stream_.has_value();
  }
  void Disconnect() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    stream_.reset();
    tls_stream_.reset();
  }

  std::string host_;
  uint16_t port_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // Null for plain http.
  absl::Mutex mutex_;
  boost::asio::io_context io_ ABSL_GUARDED_BY(mutex_);
  // One of the two, while connected.
  std::optional<boost::beast::tcp_stream> stream_ ABSL_GUARDED_BY(mutex_);
  std::optional<TlsStream> tls_stream_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast
