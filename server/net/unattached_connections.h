#pragma once

#include <memory>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/base/counters.h"

namespace roomcast::net {

struct UnattachedConnectionOptions {
  size_t max_total = 0;  // 0: no limit.
  // Sessions open (base::Counters) and unattached connections together at
  // most this many: the open files left when the sessions have theirs. 0: none.
  size_t budget = 0;
  size_t max_per_ip = 0;  // 0: no limit.
  // The per-address cap for private and loopback peers too (by default
  // those are proxies: many clients behind one address).
  bool limit_private_addresses = false;
};

// The TCP connections that are not part of an Engine.IO session yet: from
// accept until a request on one reaches a session (its handshake, a poll, the
// WebSocket). Each stage before that has a deadline (the header and idle
// timeouts); this caps how many may be there at once, overall (a number, or
// what the sessions leave of a budget: after a restart every client may
// arrive at once, with the server full only a few may) and per peer address,
// so connections that never become sessions cannot use up the open-file
// limit and lock every browser out. Touched once per connection and once
// when it attaches (a mutex), never per packet.
class UnattachedConnections {
 public:
  UnattachedConnections(UnattachedConnectionOptions options, base::Counters& counters)
      : options_(options), counters_(counters) {}

  // A connection's place while unattached, given back when destroyed.
  class Slot {
   public:
    Slot(UnattachedConnections& owner, std::string ip) : owner_(owner), ip_(std::move(ip)) {}
    ~Slot() { owner_.Release(ip_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    UnattachedConnections& owner_;
    std::string ip_;  // Empty: not counted per address.
  };

  // A slot for a connection from `peer`, or null (counted) when a cap is
  // reached: the caller closes the connection.
  std::unique_ptr<Slot> Acquire(const boost::asio::ip::address& peer);

 private:
  void Release(const std::string& ip);

  const UnattachedConnectionOptions options_;
  base::Counters& counters_;
  absl::Mutex mutex_;
  size_t total_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<std::string, size_t> per_ip_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::net
