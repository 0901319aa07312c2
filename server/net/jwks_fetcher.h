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
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "server/auth/jwks_keys.h"
#include "server/base/counters.h"

namespace roomcast::net {

// Keeps auth::JwksKeys filled from ROOMCAST_JWKS_URL, on a thread of its
// own: GET over HTTP or HTTPS (the system CAs verify the server), at most
// `timeout` per attempt; the next fetch when the response's max-age runs
// out (auth::RefreshAfter); a failure keeps the old keys, is logged and
// counted, and is retried after min_refresh; a token with an unknown kid
// asks for a fetch now (JwksKeys rate-limits that).
class JwksFetcher {
 public:
  static constexpr std::chrono::seconds kTimeout{5};
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  // Fetches the keys' options().url, which CheckUrl must accept.
  static absl::StatusOr<std::unique_ptr<JwksFetcher>> Create(std::shared_ptr<auth::JwksKeys> keys,
                                                             base::Counters& counters);
  // Why `url` cannot be fetched from (not http(s)://host[:port]/path), if so.
  static absl::Status CheckUrl(std::string_view url);
  // Stops asking, then the thread; a fetch in flight is dropped.
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

 private:
  struct Target {
    bool tls = false;
    std::string host;
    std::string port;
    std::string path;
  };
  struct Attempt;
  struct Response {
    unsigned status = 0;
    std::string body;
    std::string cache_control;
  };

  static absl::StatusOr<Target> ParseUrl(std::string_view url);
  JwksFetcher(std::shared_ptr<auth::JwksKeys> keys, Target target, base::Counters& counters);
  void Fetch();
  template <typename Stream>
  void Exchange(const std::shared_ptr<Attempt>& attempt, std::shared_ptr<Stream> stream,
                boost::asio::ip::tcp::resolver::results_type addresses);
  void Finish(const std::shared_ptr<Attempt>& attempt, absl::StatusOr<Response> response);
  void ScheduleIn(std::chrono::seconds delay);

  std::shared_ptr<auth::JwksKeys> keys_;
  const Target target_;
  base::Counters& counters_;
  std::optional<boost::asio::ssl::context> tls_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer next_{io_};  // The next scheduled fetch.
  bool in_flight_ = false;               // On the thread only.
  std::thread thread_;
};

}  // namespace roomcast::net
