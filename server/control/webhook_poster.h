#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "roomcast/v1/roomcast.pb.h"
#include "server/base/counters.h"
#include "server/core/client_event.h"
#include "server/net/http_client.h"

namespace roomcast::control {

namespace v1 = ::roomcast::v1;

struct WebhookOptions {
  std::string url;     // http:// or https://
  std::string secret;  // HMAC-SHA256 key of the signature header.
  // Time to answer a browser's ack: retries stop there (then `timeout`).
  std::chrono::milliseconds deadline{10000};
  size_t concurrency = 64;  // Requests in flight.
  size_t queue = 10000;     // Waiting beyond those; more are refused.
};

// Posts client events to the application's HTTP endpoint (a Next.js route
// handler), for apps without a gRPC server: the JSON body is signed with
// `x-roomcast-signature: sha256=<hex HMAC>`, retried with backoff on 5xx,
// timeouts and refused connections until the deadline (same id, so the
// receiver can dedupe), never on 4xx; a 2xx's `{"ack":[...]}` is the
// browser's answer. One thread of its own; bounded in flight and waiting.
class WebhookPoster {
 public:
  // A bad URL is refused here.
  static absl::StatusOr<std::unique_ptr<WebhookPoster>> Create(WebhookOptions options,
                                                               base::Counters& counters);
  // Answers what is still waiting `unavailable`, then stops the thread.
  ~WebhookPoster();
  WebhookPoster(const WebhookPoster&) = delete;
  WebhookPoster& operator=(const WebhookPoster&) = delete;

  // From any thread; `done` (may be null) runs once, on the poster's thread.
  void Post(std::shared_ptr<const v1::ClientEvent> event, core::ClientAckDone done);
  // Answers everything waiting or in flight `unavailable` (SIGTERM).
  void Drain();

  // The signed body, for tests: {"id","namespace","event","args",...}.
  static std::string Body(const v1::ClientEvent& event);
  // "sha256=<lowercase hex HMAC-SHA256 of body>".
  static std::string Signature(std::string_view secret, std::string_view body);

 private:
  struct Delivery;

  WebhookPoster(WebhookOptions options, net::HttpTarget target, base::Counters& counters);
  void Pump();
  void Attempt(const std::shared_ptr<Delivery>& delivery);
  // After an attempt: the delivery's answer, a retry, or the end.
  void Settle(const std::shared_ptr<Delivery>& delivery, std::optional<unsigned> http_status,
              const std::string& body);
  void Finish(const std::shared_ptr<Delivery>& delivery, absl::StatusOr<std::string> answer);
  void DrainHere();

  WebhookOptions options_;
  base::Counters& counters_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  net::HttpClient client_;  // After io_, which it runs on.
  // On the poster's thread only.
  std::deque<std::shared_ptr<Delivery>> waiting_;
  absl::flat_hash_set<std::shared_ptr<Delivery>> in_flight_;
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace roomcast::control
