#include "clients/cpp/http_transport.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/str_cat.h"
#include "clients/cpp/loopback.h"

namespace roomcast {

namespace beast = boost::beast;
namespace http = beast::http;

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(const std::string& base_url) {
  auto url = boost::urls::parse_uri(base_url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("INTERNAL_API_URL must look like http://host:port, got '", base_url, "'"));
  }
  const uint16_t port = url->has_port() ? url->port_number() : 80;
  std::string host = url->host_address();
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(host), port));
}

absl::Status HttpTransport::Connect(std::chrono::milliseconds deadline) {
  absl::StatusOr<std::vector<boost::asio::ip::tcp::endpoint>> endpoints = ResolveAll(host_, port_);
  if (!endpoints.ok()) {
    return endpoints.status();
  }
  absl::StatusOr<boost::asio::ip::tcp::socket> socket = ConnectFirst(io_, *endpoints, deadline);
  if (!socket.ok()) {
    return absl::UnavailableError(absl::StrCat("HTTP shim at ", host_, ":", port_,
                                               " unreachable: ", socket.status().message()));
  }
  stream_.emplace(*std::move(socket));
  return absl::OkStatus();
}

absl::StatusOr<HttpTransport::Reply> HttpTransport::Call(http::verb verb, const std::string& target,
                                                         const std::string& body,
                                                         const std::string& api_key,
                                                         std::chrono::milliseconds deadline) {
  absl::MutexLock lock(&mutex_);
  http::request<http::string_body> request(verb, target, 11);
  request.set(http::field::host, absl::StrCat(host_, ":", port_));
  request.set(http::field::content_type, "application/json");
  if (!api_key.empty()) {
    request.set(http::field::authorization, absl::StrCat("Bearer ", api_key));
  }
  request.keep_alive(true);
  request.body() = body;
  request.prepare_payload();

  // A kept-alive connection may have been closed by the server meanwhile:
  // one fresh reconnect is part of the same attempt.
  for (int round = 0; round < 2; ++round) {
    const bool reused = stream_.has_value();
    if (!reused) {
      if (absl::Status status = Connect(deadline); !status.ok()) {
        return status;
      }
    }
    stream_->expires_after(deadline);
    beast::error_code ec;
    http::write(*stream_, request, ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    if (!ec) {
      http::read(*stream_, buffer, response, ec);
    }
    if (ec) {
      stream_.reset();
      if (reused && ec != beast::error::timeout) {
        continue;
      }
      return ec == beast::error::timeout
                 ? absl::DeadlineExceededError("HTTP shim did not answer in time")
                 : absl::UnavailableError(absl::StrCat("HTTP shim: ", ec.message()));
    }
    if (!response.keep_alive()) {
      stream_.reset();
    }
    return Reply{static_cast<int>(response.result_int()), std::move(response.body())};
  }
  return absl::UnavailableError("HTTP shim closed the connection");
}

}  // namespace roomcast
