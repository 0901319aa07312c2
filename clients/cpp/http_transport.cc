#include "clients/cpp/http_transport.h"

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/str_cat.h"
#include "clients/cpp/loopback.h"

namespace roomcast {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// One request and its response on an open stream.
template <class Stream>
beast::error_code Exchange(Stream& stream, const http::request<http::string_body>& request,
                           http::response<http::string_body>& response) {
  beast::error_code ec;
  http::write(stream, request, ec);
  beast::flat_buffer buffer;
  if (!ec) {
    http::read(stream, buffer, response, ec);
  }
  return ec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(
    const std::string& base_url, std::shared_ptr<boost::asio::ssl::context> tls) {
  auto url = boost::urls::parse_uri(base_url);
  const bool https = url && url->scheme() == "https";
  if (!url || (url->scheme() != "http" && !https) || url->host().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("INTERNAL_API_URL must look like http(s)://host:port, got '", base_url, "'"));
  }
  if (https != (tls != nullptr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("INTERNAL_API_URL '", base_url, "' and the TLS settings disagree"));
  }
  const uint16_t port = url->has_port() ? url->port_number() : (https ? 443 : 80);
  std::string host = url->host_address();
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(host), port, std::move(tls)));
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
  if (tls_ == nullptr) {
    stream_.emplace(*std::move(socket));
    return absl::OkStatus();
  }
  TlsStream& stream = tls_stream_.emplace(*std::move(socket), *tls_);
  beast::get_lowest_layer(stream).expires_after(deadline);
  // SNI, and the certificate must name the host of the URL.
  SSL_set_tlsext_host_name(stream.native_handle(), host_.c_str());
  stream.set_verify_callback(boost::asio::ssl::host_name_verification(host_));
  beast::error_code ec;
  stream.handshake(boost::asio::ssl::stream_base::client, ec);
  if (ec) {
    tls_stream_.reset();
    return absl::UnavailableError(
        absl::StrCat("HTTPS shim at ", host_, ":", port_, ": TLS handshake: ", ec.message()));
  }
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
    const bool reused = Connected();
    if (!reused) {
      if (absl::Status status = Connect(deadline); !status.ok()) {
        return status;
      }
    }
    http::response<http::string_body> response;
    beast::error_code ec;
    if (tls_stream_) {
      beast::get_lowest_layer(*tls_stream_).expires_after(deadline);
      ec = Exchange(*tls_stream_, request, response);
    } else {
      stream_->expires_after(deadline);
      ec = Exchange(*stream_, request, response);
    }
    if (ec) {
      Disconnect();
      if (reused && ec != beast::error::timeout) {
        continue;
      }
      return ec == beast::error::timeout
                 ? absl::DeadlineExceededError("HTTP shim did not answer in time")
                 : absl::UnavailableError(absl::StrCat("HTTP shim: ", ec.message()));
    }
    if (!response.keep_alive()) {
      Disconnect();
    }
    return Reply{static_cast<int>(response.result_int()), std::move(response.body())};
  }
  return absl::UnavailableError("HTTP shim closed the connection");
}

}  // namespace roomcast
