#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace roomcast {

// A small blocking HTTP/1.1 client for the HTTP shim: one kept-alive
// connection, reconnected as needed, to whichever of the host's addresses
// answers first (`localhost` means ::1 and 127.0.0.1). Thread-safe.
class HttpTransport {
 public:
  struct Reply {
    int status = 0;
    std::string body;
  };

  // `base_url` like http://localhost:3001.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Create(const std::string& base_url);

  // UNAVAILABLE when the server cannot be reached or the connection drops.
  absl::StatusOr<Reply> Call(boost::beast::http::verb verb, const std::string& target,
                             const std::string& body, const std::string& api_key,
                             std::chrono::milliseconds deadline);

 private:
  HttpTransport(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
  absl::Status Connect(std::chrono::milliseconds deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  std::string host_;
  uint16_t port_;
  absl::Mutex mutex_;
  boost::asio::io_context io_ ABSL_GUARDED_BY(mutex_);
  std::optional<boost::beast::tcp_stream> stream_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast
