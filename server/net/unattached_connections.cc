#include "server/net/unattached_connections.h"

#include "server/net/address_range.h"

namespace roomcast::net {

std::unique_ptr<UnattachedConnections::Slot> UnattachedConnections::Acquire(
    const boost::asio::ip::address& peer) {
  const bool per_ip =
      options_.max_per_ip > 0 && LimitedPerAddress(peer, options_.limit_private_addresses);
  const std::string ip = per_ip ? Unmapped(peer).to_string() : std::string();
  const uint64_t sessions = counters_.sessions_opened.load(std::memory_order_relaxed) -
                            counters_.sessions_closed.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mutex_);
  if ((options_.max_total > 0 && total_ >= options_.max_total) ||
      (options_.budget > 0 && total_ + sessions >= options_.budget)) {
    base::Counters::Bump(counters_.unattached_refused);
    return nullptr;
  }
  if (per_ip) {
    size_t& count = per_ip_[ip];
    if (count >= options_.max_per_ip) {
      base::Counters::Bump(counters_.unattached_refused_per_ip);
      return nullptr;
    }
    ++count;
  }
  counters_.unattached.store(++total_, std::memory_order_relaxed);
  return std::make_unique<Slot>(*this, ip);
}

void UnattachedConnections::Release(const std::string& ip) {
  absl::MutexLock lock(&mutex_);
  counters_.unattached.store(--total_, std::memory_order_relaxed);
  if (ip.empty()) {
    return;
  }
  if (auto it = per_ip_.find(ip); it != per_ip_.end() && --it->second == 0) {
    per_ip_.erase(it);
  }
}

}  // namespace roomcast::net
