#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/base/counters.h"
#include "server/base/token_bucket.h"
#include "server/net/address_range.h"

namespace roomcast::net {

struct ConnectionLimitOptions {
  size_t max_connections = 0;          // 0: no limit.
  size_t max_connections_per_ip = 0;   // 0: no limit.
  double handshakes_per_ip_per_s = 0;  // 0: no limit; bursts of 4x that.
  // Peers whose X-Forwarded-For is believed (reverse proxies).
  std::vector<AddressRange> trusted_proxies = {};
  // The per-address limits for private and loopback clients too; by
  // default those are proxies, each carrying many browsers.
  bool limit_private_addresses = false;
};

// Admission of new Engine.IO sessions: a global cap, a cap per client IP,
// and a handshake rate per IP (public addresses only, unless
// limit_private_addresses). Refusals are counted, and logged once per
// interval rather than once per attempt. Shared by every shard (a mutex:
// it is touched once per session, not per packet).
class ConnectionLimits {
 public:
  ConnectionLimits(ConnectionLimitOptions options, base::Counters& counters)
      : options_(std::move(options)), counters_(counters) {}

  // The client's address: the peer, or for a trusted proxy the last
  // untrusted address of X-Forwarded-For.
  std::string ClientAddress(const boost::asio::ip::address& peer,
                            std::optional<std::string_view> forwarded_for) const;

  // A session's place within the limits, given back when destroyed.
  class Admission {
   public:
    // `ip` empty: not counted per address.
    Admission(ConnectionLimits& limits, std::string ip) : limits_(limits), ip_(std::move(ip)) {}
    ~Admission() { limits_.Release(ip_); }
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

   private:
    ConnectionLimits& limits_;
    std::string ip_;
  };

  // Admits a new session from `ip`, or says why not.
  absl::StatusOr<std::unique_ptr<Admission>> Admit(const std::string& ip);

 private:
  struct PerIp {
    size_t connections = 0;
    std::optional<base::TokenBucket> handshakes;
  };
  void Release(const std::string& ip);
  absl::Status Refuse(std::atomic<uint64_t>& counter, std::string message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool Trusted(const boost::asio::ip::address& address) const;
  // Whether the per-address limits apply to `ip`.
  bool LimitedPerAddress(const std::string& ip) const;

  ConnectionLimitOptions options_;
  base::Counters& counters_;
  absl::Mutex mutex_;
  size_t total_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<std::string, PerIp> per_ip_ ABSL_GUARDED_BY(mutex_);
  std::chrono::steady_clock::time_point last_log_ ABSL_GUARDED_BY(mutex_);
  uint64_t unlogged_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace roomcast::net
