#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "server/auth/jwks_keys.h"
#include "server/base/counters.h"
#include "server/net/http_client.h"

namespace roomcast::net {

// Keeps auth::JwksKeys filled from ROOMCAST_JWKS_URL, on a thread of its
// own: GET over HTTP or HTTPS (the system CAs verify the server), at most
// `timeout` per attempt; the next fetch when the response's max-age runs
// out (auth::RefreshAfter); a failure keeps the old keys, is logged and
// counted, and is retried after min_refresh; a token with an unknown kid
// asks for a fetch now (JwksKeys rate-limits that).
class JwksFetcher {
 public:
  static constexpr std::chrono::milliseconds kTimeout{5000};
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  // Fetches the keys' options().url, which HttpTarget::Parse must accept.
  static absl::StatusOr<std::unique_ptr<JwksFetcher>> Create(std::shared_ptr<auth::JwksKeys> keys,
                                                             base::Counters& counters);
  // Stops asking, then the thread; a fetch in flight is dropped.
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

 private:
  JwksFetcher(std::shared_ptr<auth::JwksKeys> keys, HttpTarget target, base::Counters& counters);
  void Fetch();
  void Finish(absl::StatusOr<HttpReply> response);
  void ScheduleIn(std::chrono::seconds delay);

  std::shared_ptr<auth::JwksKeys> keys_;
  base::Counters& counters_;
  boost::asio::io_context io_;
  HttpClient client_;  // After io_, which it runs on.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer next_{io_};  // The next scheduled fetch.
  bool in_flight_ = false;               // On the thread only.
  std::thread thread_;
};

}  // namespace roomcast::net
