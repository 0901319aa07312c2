#include "server/net/jwks_fetcher.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace roomcast::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

}  // namespace

// One GET: answered once (by the response, an error or the deadline).
struct JwksFetcher::Attempt {
  explicit Attempt(asio::io_context& io) : deadline(io) {}
  bool finished = false;
  asio::steady_timer deadline;
  std::function<void()> abort;  // Cancels the step in progress; weak, so no cycle.
};

absl::StatusOr<JwksFetcher::Target> JwksFetcher::ParseUrl(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("expected an http:// or https:// URL, got '",
                                                   absl::string_view(text.data(), text.size()),
                                                   "'"));
  }
  Target target;
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

absl::Status JwksFetcher::CheckUrl(std::string_view url) { return ParseUrl(url).status(); }

absl::StatusOr<std::unique_ptr<JwksFetcher>> JwksFetcher::Create(
    std::shared_ptr<auth::JwksKeys> keys, base::Counters& counters) {
  absl::StatusOr<Target> target = ParseUrl(keys->options().url);
  if (!target.ok()) {
    return target.status();
  }
  return std::unique_ptr<JwksFetcher>(
      new JwksFetcher(std::move(keys), *std::move(target), counters));
}

JwksFetcher::JwksFetcher(std::shared_ptr<auth::JwksKeys> keys, Target target,
                         base::Counters& counters)
    : keys_(std::move(keys)), target_(std::move(target)), counters_(counters) {
  if (target_.tls) {
    tls_.emplace(asio::ssl::context::tls_client);
    tls_->set_default_verify_paths();  // The system CAs, or SSL_CERT_FILE.
    tls_->set_verify_mode(asio::ssl::verify_peer);
  }
  work_.emplace(io_.get_executor());
  keys_->SetRefetch([this] { asio::post(io_, [this] { Fetch(); }); });
  asio::post(io_, [this] { Fetch(); });
  thread_ = std::thread([this] { io_.run(); });
}

JwksFetcher::~JwksFetcher() {
  keys_->SetRefetch(nullptr);  // Waits out a verifier's call in progress.
  asio::post(io_, [this] {
    next_.cancel();
    work_.reset();
    io_.stop();
  });
  thread_.join();
}

void JwksFetcher::ScheduleIn(std::chrono::seconds delay) {
  next_.expires_after(delay);
  next_.async_wait([this](const boost::system::error_code& error) {
    if (!error) {
      Fetch();
    }
  });
}

void JwksFetcher::Fetch() {
  if (in_flight_) {
    return;  // Its answer schedules the next one.
  }
  in_flight_ = true;
  next_.cancel();
  auto attempt = std::make_shared<Attempt>(io_);
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
  attempt->abort = [weak = std::weak_ptr<asio::ip::tcp::resolver>(resolver)] {
    if (auto resolver = weak.lock()) {
      resolver->cancel();
    }
  };
  attempt->deadline.expires_after(kTimeout);
  attempt->deadline.async_wait([this, attempt](const boost::system::error_code& error) {
    if (!error && !attempt->finished) {
      if (attempt->abort) {
        attempt->abort();
      }
      Finish(attempt,
             absl::DeadlineExceededError(absl::StrCat("no answer in ", kTimeout.count(), " s")));
    }
  });
  resolver->async_resolve(
      target_.host, target_.port,
      [this, attempt, resolver](const boost::system::error_code& error,
                                asio::ip::tcp::resolver::results_type addresses) {
        if (attempt->finished) {
          return;
        }
        if (error) {
          Finish(attempt, absl::UnavailableError(error.message()));
          return;
        }
        if (tls_) {
          auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(io_, *tls_);
          SSL_set_tlsext_host_name(stream->native_handle(), target_.host.c_str());
          stream->set_verify_callback(asio::ssl::host_name_verification(target_.host));
          Exchange(attempt, std::move(stream), std::move(addresses));
        } else {
          Exchange(attempt, std::make_shared<beast::tcp_stream>(io_), std::move(addresses));
        }
      });
}

template <typename Stream>
void JwksFetcher::Exchange(const std::shared_ptr<Attempt>& attempt, std::shared_ptr<Stream> stream,
                           asio::ip::tcp::resolver::results_type addresses) {
  attempt->abort = [weak = std::weak_ptr<Stream>(stream)] {
    if (auto stream = weak.lock()) {
      beast::get_lowest_layer(*stream).close();
    }
  };
  auto request =
      std::make_shared<http::request<http::empty_body>>(http::verb::get, target_.path, 11);
  request->set(http::field::host, target_.host);
  request->set(http::field::user_agent, "roomcast-jwks");
  request->set(http::field::accept, "application/json");
  request->set(http::field::connection, "close");
  auto fail = [this, attempt](const boost::system::error_code& error) {
    if (!attempt->finished) {
      Finish(attempt, absl::UnavailableError(error.message()));
    }
  };
  auto exchange = [this, attempt, stream, request, fail]() {
    http::async_write(
        *stream, *request,
        [this, attempt, stream, request, fail](const boost::system::error_code& error, size_t) {
          if (error) {
            fail(error);
            return;
          }
          auto buffer = std::make_shared<beast::flat_buffer>();
          auto parser = std::make_shared<http::response_parser<http::string_body>>();
          parser->body_limit(kMaxBodyBytes);
          http::async_read(*stream, *buffer, *parser,
                           [this, attempt, stream, buffer, parser, fail](
                               const boost::system::error_code& error, size_t) {
                             if (error) {
                               fail(error);
                               return;
                             }
                             beast::error_code ignored;
                             beast::get_lowest_layer(*stream).socket().shutdown(
                                 asio::ip::tcp::socket::shutdown_both, ignored);
                             if (!attempt->finished) {
                               const auto& message = parser->get();
                               Finish(attempt,
                                      Response{message.result_int(), message.body(),
                                               std::string(message[http::field::cache_control])});
                             }
                           });
        });
  };
  beast::get_lowest_layer(*stream).async_connect(
      addresses, [stream, exchange, fail](const boost::system::error_code& error,
                                          const asio::ip::tcp::endpoint&) {
        if (error) {
          fail(error);
          return;
        }
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
          exchange();
        } else {
          stream->async_handshake(asio::ssl::stream_base::client,
                                  [exchange, fail](const boost::system::error_code& error) {
                                    if (error) {
                                      fail(error);
                                      return;
                                    }
                                    exchange();
                                  });
        }
      });
}

void JwksFetcher::Finish(const std::shared_ptr<Attempt>& attempt,
                         absl::StatusOr<Response> response) {
  attempt->finished = true;
  attempt->abort = nullptr;
  attempt->deadline.cancel();
  in_flight_ = false;
  const auth::JwksOptions& options = keys_->options();
  absl::StatusOr<std::shared_ptr<const auth::JwkSet>> keys =
      !response.ok() ? absl::StatusOr<std::shared_ptr<const auth::JwkSet>>(response.status())
      : response->status / 100 != 2
          ? absl::UnavailableError(absl::StrCat("HTTP ", response->status))
          : auth::JwkSet::Parse(response->body);
  if (!keys.ok()) {
    base::Counters::Bump(counters_.jwks_fetch_failures);
    keys_->FetchFailed(keys.status());
    const size_t kept = keys_->state().keys;
    spdlog::warn("jwks: fetch from {} failed: {}; keeping {} key(s), retry in {} s", options.url,
                 std::string(keys.status().message()), kept, options.min_refresh.count());
    ScheduleIn(std::min(options.min_refresh, options.refresh));
    return;
  }
  base::Counters::Bump(counters_.jwks_fetches);
  counters_.jwks_keys.store((*keys)->size(), std::memory_order_relaxed);
  const std::chrono::seconds next = auth::RefreshAfter(response->cache_control, options);
  spdlog::info("jwks: {} key(s) from {} (kid {}); next fetch in {} s", (*keys)->size(), options.url,
               absl::StrJoin((*keys)->kids(), ","), next.count());
  keys_->Replace(*std::move(keys));
  ScheduleIn(next);
}

}  // namespace roomcast::net
