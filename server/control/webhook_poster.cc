#include "server/control/webhook_poster.h"

#include <openssl/hmac.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"

namespace roomcast::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
// One attempt may take at most this (within the deadline).
constexpr std::chrono::milliseconds kAttemptTimeout{5000};
constexpr size_t kMaxResponseBytes = 1 << 20;

std::string Base64(std::string_view bytes) {
  std::string out(beast::detail::base64::encoded_size(bytes.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

}  // namespace

struct WebhookPoster::Delivery {
  std::shared_ptr<const v1::ClientEvent> event;
  core::ClientAckDone done;
  std::string body;
  std::string signature;
  Clock::time_point deadline;
  std::chrono::milliseconds backoff = kFirstBackoff;
  int attempts = 0;
  bool finished = false;
};

std::string WebhookPoster::Body(const v1::ClientEvent& event) {
  boost::system::error_code error;
  json::value args = json::parse(event.args_json(), error);
  if (error || !args.is_array()) {
    args = json::array();
  }
  json::array rooms;
  for (const std::string& room : event.rooms()) {
    rooms.emplace_back(room);
  }
  json::object body{
      {"id", event.id()},          {"namespace", event.namespace_()}, {"event", event.event()},
      {"args", std::move(args)},   {"socketId", event.socket_id()},   {"userId", event.user_id()},
      {"rooms", std::move(rooms)}, {"time", event.time_ms()}};
  if (event.attachments_size() > 0) {
    json::array attachments;
    for (const std::string& attachment : event.attachments()) {
      attachments.emplace_back(Base64(attachment));
    }
    body["attachments"] = std::move(attachments);
  }
  if (!event.traceparent().empty()) {
    body["traceparent"] = event.traceparent();  // Also the request's traceparent header.
  }
  return json::serialize(body);
}

std::string WebhookPoster::Signature(std::string_view secret, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

absl::StatusOr<std::unique_ptr<WebhookPoster>> WebhookPoster::Create(WebhookOptions options,
                                                                     base::Counters& counters) {
  auto url = boost::urls::parse_absolute_uri(options.url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client_events_webhook: expected an http:// or https:// URL, got '", options.url, "'"));
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
  return std::unique_ptr<WebhookPoster>(
      new WebhookPoster(std::move(options), std::move(target), counters));
}

WebhookPoster::WebhookPoster(WebhookOptions options, Target target, base::Counters& counters)
    : options_(std::move(options)), target_(std::move(target)), counters_(counters) {
  if (target_.tls) {
    tls_.emplace(asio::ssl::context::tls_client);
    tls_->set_default_verify_paths();  // The system CAs, or SSL_CERT_FILE.
    tls_->set_verify_mode(asio::ssl::verify_peer);
  }
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
}

WebhookPoster::~WebhookPoster() {
  asio::post(io_, [this] {
    DrainHere();
    work_.reset();
    io_.stop();
  });
  thread_.join();
}

void WebhookPoster::Drain() {
  asio::post(io_, [this] { DrainHere(); });
}

void WebhookPoster::DrainHere() {
  draining_ = true;
  std::deque<std::shared_ptr<Delivery>> waiting = std::move(waiting_);
  waiting_.clear();
  for (const auto& delivery : waiting) {
    Finish(delivery, absl::UnavailableError("this node is draining: retry"));
  }
  std::vector<std::shared_ptr<Delivery>> in_flight(in_flight_.begin(), in_flight_.end());
  for (const auto& delivery : in_flight) {
    Finish(delivery, absl::UnavailableError("this node is draining: retry"));
  }
}

void WebhookPoster::Post(std::shared_ptr<const v1::ClientEvent> event, core::ClientAckDone done) {
  auto delivery = std::make_shared<Delivery>();
  delivery->body = Body(*event);
  delivery->signature = Signature(options_.secret, delivery->body);
  delivery->event = std::move(event);
  delivery->done = std::move(done);
  delivery->deadline = Clock::now() + options_.deadline;
  asio::post(io_, [this, delivery = std::move(delivery)]() mutable {
    if (draining_ || waiting_.size() >= options_.queue) {
      base::Counters::Bump(counters_.webhook_refused);
      delivery->finished = true;
      if (delivery->done) {
        std::move(delivery->done)(absl::UnavailableError(
            draining_ ? "this node is draining: retry" : "the webhook's queue is full"));
      }
      return;
    }
    waiting_.push_back(std::move(delivery));
    Pump();
  });
}

void WebhookPoster::Pump() {
  while (!waiting_.empty() && in_flight_.size() < options_.concurrency) {
    std::shared_ptr<Delivery> delivery = std::move(waiting_.front());
    waiting_.pop_front();
    in_flight_.insert(delivery);
    Attempt(delivery);
  }
}

void WebhookPoster::Attempt(const std::shared_ptr<Delivery>& delivery) {
  ++delivery->attempts;
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
  resolver->async_resolve(
      target_.host, target_.port,
      [this, resolver, delivery](const boost::system::error_code& error,
                                 asio::ip::tcp::resolver::results_type addresses) mutable {
        if (delivery->finished) {
          return;
        }
        if (error) {
          Settle(delivery, std::nullopt, error.message());
          return;
        }
        if (tls_) {
          auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(io_, *tls_);
          SSL_set_tlsext_host_name(stream->native_handle(), target_.host.c_str());
          stream->set_verify_callback(asio::ssl::host_name_verification(target_.host));
          Exchange(delivery, std::move(stream), std::move(addresses));
        } else {
          Exchange(delivery, std::make_shared<beast::tcp_stream>(io_), std::move(addresses));
        }
      });
}

template <typename Stream>
void WebhookPoster::Exchange(const std::shared_ptr<Delivery>& delivery,
                             std::shared_ptr<Stream> stream,
                             asio::ip::tcp::resolver::results_type addresses) {
  auto& tcp = beast::get_lowest_layer(*stream);
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(delivery->deadline - Clock::now());
  tcp.expires_after(std::max(std::chrono::milliseconds(1), std::min(left, kAttemptTimeout)));
  auto request =
      std::make_shared<http::request<http::string_body>>(http::verb::post, target_.path, 11);
  request->set(http::field::host, target_.host);
  request->set(http::field::user_agent, "roomcast-webhook");
  request->set(http::field::content_type, "application/json");
  request->set("x-roomcast-signature", delivery->signature);
  request->set("x-roomcast-event-id", delivery->event->id());
  if (!delivery->event->traceparent().empty()) {
    request->set("traceparent", delivery->event->traceparent());
  }
  request->set(http::field::connection, "close");
  request->body() = delivery->body;
  request->prepare_payload();
  auto fail = [this, delivery](const boost::system::error_code& error) {
    if (!delivery->finished) {
      Settle(delivery, std::nullopt, error.message());
    }
  };
  auto exchange = [this, delivery, stream, request, fail]() {
    http::async_write(
        *stream, *request,
        [this, delivery, stream, request, fail](const boost::system::error_code& error, size_t) {
          if (error) {
            fail(error);
            return;
          }
          auto buffer = std::make_shared<beast::flat_buffer>();
          auto parser = std::make_shared<http::response_parser<http::string_body>>();
          parser->body_limit(kMaxResponseBytes);
          http::async_read(*stream, *buffer, *parser,
                           [this, delivery, stream, buffer, parser, fail](
                               const boost::system::error_code& error, size_t) {
                             if (error) {
                               fail(error);
                               return;
                             }
                             beast::error_code ignored;
                             beast::get_lowest_layer(*stream).socket().shutdown(
                                 asio::ip::tcp::socket::shutdown_both, ignored);
                             if (!delivery->finished) {
                               Settle(delivery, parser->get().result_int(), parser->get().body());
                             }
                           });
        });
  };
  tcp.async_connect(addresses, [stream, exchange, fail](const boost::system::error_code& error,
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

void WebhookPoster::Settle(const std::shared_ptr<Delivery>& delivery,
                           std::optional<unsigned> http_status, const std::string& body) {
  if (http_status && *http_status >= 200 && *http_status < 300) {
    boost::system::error_code error;
    json::value parsed = json::parse(body, error);
    const json::value* ack =
        !error && parsed.is_object() ? parsed.as_object().if_contains("ack") : nullptr;
    base::Counters::Bump(counters_.webhook_deliveries);
    Finish(delivery, ack != nullptr && ack->is_array() ? json::serialize(*ack) : "[]");
    return;
  }
  base::Counters::Bump(counters_.webhook_failures);
  if (http_status && *http_status >= 400 && *http_status < 500) {
    spdlog::warn("webhook: refused id={} status={}", delivery->event->id(), *http_status);
    Finish(delivery, absl::UnavailableError(
                         absl::StrCat("the webhook refused the event: HTTP ", *http_status)));
    return;
  }
  const std::string why = http_status ? absl::StrCat("HTTP ", *http_status) : body;
  if (Clock::now() + delivery->backoff >= delivery->deadline) {
    spdlog::warn("webhook: gave up id={} attempts={} last=\"{}\"", delivery->event->id(),
                 delivery->attempts, why);
    Finish(delivery, absl::DeadlineExceededError(
                         absl::StrCat("the webhook did not answer in time (last: ", why, ")")));
    return;
  }
  base::Counters::Bump(counters_.webhook_retries);
  auto timer = std::make_shared<asio::steady_timer>(io_, delivery->backoff);
  delivery->backoff = std::min(delivery->backoff * 2, kMaxBackoff);
  timer->async_wait([this, timer, delivery](const boost::system::error_code& error) {
    if (!error && !delivery->finished) {
      Attempt(delivery);
    }
  });
}

void WebhookPoster::Finish(const std::shared_ptr<Delivery>& delivery,
                           absl::StatusOr<std::string> answer) {
  if (delivery->finished) {
    return;
  }
  delivery->finished = true;
  in_flight_.erase(delivery);
  if (delivery->done) {
    std::move(delivery->done)(std::move(answer));
  }
  if (!draining_) {
    Pump();
  }
}

}  // namespace roomcast::control
