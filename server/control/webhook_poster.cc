#include "server/control/webhook_poster.h"

#include <openssl/hmac.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

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
  absl::StatusOr<net::HttpTarget> target = net::HttpTarget::Parse(options.url);
  if (!target.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("client_events_webhook: ", target.status().message()));
  }
  return std::unique_ptr<WebhookPoster>(
      new WebhookPoster(std::move(options), *std::move(target), counters));
}

WebhookPoster::WebhookPoster(WebhookOptions options, net::HttpTarget target,
                             base::Counters& counters)
    : options_(std::move(options)), counters_(counters), client_(io_, std::move(target)) {
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
  net::HttpClient::Request request(http::verb::post, client_.target().path, 11);
  request.set(http::field::user_agent, "roomcast-webhook");
  request.set(http::field::content_type, "application/json");
  request.set("x-roomcast-signature", delivery->signature);
  request.set("x-roomcast-event-id", delivery->event->id());
  if (!delivery->event->traceparent().empty()) {
    request.set("traceparent", delivery->event->traceparent());
  }
  request.body() = delivery->body;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(delivery->deadline - Clock::now());
  client_.Send(std::move(request), kMaxResponseBytes,
               std::max(std::chrono::milliseconds(1), std::min(left, kAttemptTimeout)),
               [this, delivery](const absl::StatusOr<net::HttpReply>& reply) {
                 if (delivery->finished) {
                   return;
                 }
                 if (reply.ok()) {
                   Settle(delivery, reply->status, reply->body);
                 } else {
                   Settle(delivery, std::nullopt, std::string(reply.status().message()));
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
