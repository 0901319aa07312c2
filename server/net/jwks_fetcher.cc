#include "server/net/jwks_fetcher.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace roomcast::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

}  // namespace

absl::StatusOr<std::unique_ptr<JwksFetcher>> JwksFetcher::Create(
    std::shared_ptr<auth::JwksKeys> keys, base::Counters& counters) {
  absl::StatusOr<HttpTarget> target = HttpTarget::Parse(keys->options().url);
  if (!target.ok()) {
    return target.status();
  }
  return std::unique_ptr<JwksFetcher>(
      new JwksFetcher(std::move(keys), *std::move(target), counters));
}

JwksFetcher::JwksFetcher(std::shared_ptr<auth::JwksKeys> keys, HttpTarget target,
                         base::Counters& counters)
    : keys_(std::move(keys)), counters_(counters), client_(io_, std::move(target)) {
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
  HttpClient::Request request(http::verb::get, client_.target().path, 11);
  request.set(http::field::user_agent, "roomcast-jwks");
  request.set(http::field::accept, "application/json");
  client_.Send(std::move(request), kMaxBodyBytes, kTimeout,
               [this](absl::StatusOr<HttpReply> reply) { Finish(std::move(reply)); });
}

void JwksFetcher::Finish(absl::StatusOr<HttpReply> response) {
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
