#include "server/net/http_client.h"

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/str_cat.h"

namespace roomcast::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

}  // namespace

absl::StatusOr<HttpTarget> HttpTarget::Parse(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("expected an http:// or https:// URL, got '",
                                                   absl::string_view(text.data(), text.size()),
                                                   "'"));
  }
  HttpTarget target;
  target.tls = url->scheme() == "https";
  target.host = url->host();
  if (target.host.size() > 2 && target.host.front() == '[') {
    target.host = target.host.substr(1, target.host.size() - 2);  // An IPv6 literal.
  }
  target.port = url->has_port() ? std::string(url->port()) : (target.tls ? "443" : "80");
  target.path = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
  if (url->has_query()) {
    target.path += "?" + std::string(url->encoded_query());
  }
  return target;
}

// One Send: answered once (by the response, an error or the deadline).
struct HttpClient::Exchange {
  Exchange(asio::io_context& io, Request request, size_t body_limit, Done done)
      : deadline(io), request(std::move(request)), body_limit(body_limit), done(std::move(done)) {}

  void Finish(absl::StatusOr<HttpReply> reply) {
    if (finished) {
      return;
    }
    finished = true;
    abort = nullptr;
    deadline.cancel();
    done(std::move(reply));
  }
  void Fail(const boost::system::error_code& error) {
    Finish(absl::UnavailableError(error.message()));
  }

  bool finished = false;
  asio::steady_timer deadline;
  std::function<void()> abort;  // Cancels the step in progress; weak, so no cycle.
  Request request;
  size_t body_limit;
  Done done;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
};

HttpClient::HttpClient(asio::io_context& io, HttpTarget target)
    : io_(io), target_(std::move(target)) {
  if (target_.tls) {
    tls_.emplace(asio::ssl::context::tls_client);
    tls_->set_default_verify_paths();  // The system CAs, or SSL_CERT_FILE.
    tls_->set_verify_mode(asio::ssl::verify_peer);
  }
}

void HttpClient::Send(Request request, size_t body_limit, std::chrono::milliseconds timeout,
                      Done done) {
  request.set(http::field::host, target_.host);
  request.set(http::field::connection, "close");
  request.prepare_payload();
  auto exchange = std::make_shared<Exchange>(io_, std::move(request), body_limit, std::move(done));
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
  exchange->abort = [weak = std::weak_ptr<asio::ip::tcp::resolver>(resolver)] {
    if (auto resolver = weak.lock()) {
      resolver->cancel();
    }
  };
  exchange->deadline.expires_after(timeout);
  exchange->deadline.async_wait([exchange, timeout](const boost::system::error_code& error) {
    if (!error && !exchange->finished) {
      if (exchange->abort) {
        exchange->abort();
      }
      exchange->Finish(
          absl::DeadlineExceededError(absl::StrCat("no answer in ", timeout.count(), " ms")));
    }
  });
  resolver->async_resolve(
      target_.host, target_.port,
      [this, exchange, resolver](const boost::system::error_code& error,
                                 const asio::ip::tcp::resolver::results_type& addresses) {
        if (exchange->finished) {
          return;
        }
        if (error) {
          exchange->Fail(error);
          return;
        }
        auto connect = [this, exchange, addresses](auto stream) {
          exchange->abort = [weak = std::weak_ptr(stream)] {
            if (auto stream = weak.lock()) {
              beast::get_lowest_layer(*stream).close();
            }
          };
          beast::get_lowest_layer(*stream).async_connect(
              addresses, [this, exchange, stream](const boost::system::error_code& error,
                                                  const asio::ip::tcp::endpoint&) {
                if (error) {
                  exchange->Fail(error);
                } else {
                  Run(exchange, stream);
                }
              });
        };
        if (tls_) {
          auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(io_, *tls_);
          SSL_set_tlsext_host_name(stream->native_handle(), target_.host.c_str());
          stream->set_verify_callback(asio::ssl::host_name_verification(target_.host));
          connect(std::move(stream));
        } else {
          connect(std::make_shared<beast::tcp_stream>(io_));
        }
      });
}

// Connected: the TLS handshake (https), then the request and its response.
template <typename Stream>
void HttpClient::Run(const std::shared_ptr<Exchange>& exchange, std::shared_ptr<Stream> stream) {
  auto write = [exchange, stream] {
    http::async_write(
        *stream, exchange->request,
        [exchange, stream](const boost::system::error_code& error, size_t) {
          if (error) {
            exchange->Fail(error);
            return;
          }
          exchange->parser.emplace();
          exchange->parser->body_limit(exchange->body_limit);
          http::async_read(
              *stream, exchange->buffer, *exchange->parser,
              [exchange, stream](const boost::system::error_code& error, size_t) {
                if (error) {
                  exchange->Fail(error);
                  return;
                }
                beast::error_code ignored;
                beast::get_lowest_layer(*stream).socket().shutdown(
                    asio::ip::tcp::socket::shutdown_both, ignored);
                const auto& message = exchange->parser->get();
                exchange->Finish(HttpReply{message.result_int(), message.body(),
                                           std::string(message[http::field::cache_control])});
              });
        });
  };
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    write();
  } else {
    stream->async_handshake(asio::ssl::stream_base::client,
                            [exchange, write](const boost::system::error_code& error) {
                              if (error) {
                                exchange->Fail(error);
                              } else {
                                write();
                              }
                            });
  }
}

}  // namespace roomcast::net
