#include "server/net/connection_limits.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/base/string_view.h"

namespace roomcast::net {
namespace {

constexpr auto kLogInterval = std::chrono::seconds(10);
constexpr size_t kPruneAbove = 100000;  // Idle per-IP entries are dropped past this.

}  // namespace

bool ConnectionLimits::Trusted(const boost::asio::ip::address& address) const {
  return std::any_of(options_.trusted_proxies.begin(), options_.trusted_proxies.end(),
                     [&](const AddressRange& proxies) { return proxies.Contains(address); });
}

bool ConnectionLimits::LimitedPerAddress(const std::string& ip) const {
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(ip, ec);
  return ec || net::LimitedPerAddress(address, options_.limit_private_addresses);
}

std::string ConnectionLimits::ClientAddress(const boost::asio::ip::address& peer,
                                            std::optional<std::string_view> forwarded_for) const {
  if (!forwarded_for || !Trusted(peer)) {
    return peer.to_string();
  }
  // Right to left: each trusted hop vouches for the one before it.
  std::vector<absl::string_view> hops = absl::StrSplit(ToAbsl(*forwarded_for), ',');
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(absl::StripAsciiWhitespace(*it)), ec);
    if (ec) {
      break;
    }
    if (!Trusted(address) || std::next(it) == hops.rend()) {
      return address.to_string();
    }
  }
  return peer.to_string();
}

absl::Status ConnectionLimits::Refuse(std::atomic<uint64_t>& counter, std::string message) {
  base::Counters::Bump(counter);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_log_ >= kLogInterval) {
    spdlog::warn("net: connection refused reason=\"{}\" refused_since_last_log={}", message,
                 unlogged_ + 1);
    last_log_ = now;
    unlogged_ = 0;
  } else {
    ++unlogged_;
  }
  return absl::ResourceExhaustedError(message);
}

absl::StatusOr<std::unique_ptr<ConnectionLimits::Admission>> ConnectionLimits::Admit(
    const std::string& ip) {
  absl::MutexLock lock(&mutex_);
  if (options_.max_connections > 0 && total_ >= options_.max_connections) {
    return Refuse(counters_.connections_refused, "too many connections");
  }
  if (!LimitedPerAddress(ip)) {
    ++total_;
    return std::make_unique<Admission>(*this, std::string());
  }
  if (per_ip_.size() > kPruneAbove) {
    absl::erase_if(per_ip_, [](const auto& entry) {
      return entry.second.connections == 0 &&
             (!entry.second.handshakes || entry.second.handshakes->full());
    });
  }
  PerIp& client = per_ip_[ip];
  if (options_.max_connections_per_ip > 0 &&
      client.connections >= options_.max_connections_per_ip) {
    return Refuse(counters_.connections_refused, "too many connections from this address");
  }
  if (options_.handshakes_per_ip_per_s > 0) {
    if (!client.handshakes) {
      client.handshakes.emplace(options_.handshakes_per_ip_per_s,
                                4 * options_.handshakes_per_ip_per_s);
    }
    if (!client.handshakes->Take()) {
      return Refuse(counters_.handshakes_throttled, "too many new connections from this address");
    }
  }
  ++client.connections;
  ++total_;
  return std::make_unique<Admission>(*this, ip);
}

void ConnectionLimits::Release(const std::string& ip) {
  absl::MutexLock lock(&mutex_);
  --total_;
  if (ip.empty()) {
    return;
  }
  if (auto it = per_ip_.find(ip); it != per_ip_.end() && it->second.connections > 0) {
    --it->second.connections;
  }
}

}  // namespace roomcast::net
