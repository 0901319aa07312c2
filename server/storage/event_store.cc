#include "server/storage/event_store.h"

#include <algorithm>

namespace roomcast::storage {

void MemoryEventStore::Append(const broker::Envelope& event) {
  if (capacity_ == 0) {
    return;
  }
  absl::MutexLock lock(&mutex_);
  std::deque<broker::Envelope>& ring = rings_[event.nsp];
  ring.push_back(event);
  if (ring.size() > capacity_) {
    ring.pop_front();
  }
}

std::vector<broker::Envelope> MemoryEventStore::ReadAfter(const std::string& nsp, uint64_t after,
                                                          size_t limit) const {
  absl::MutexLock lock(&mutex_);
  std::vector<broker::Envelope> out;
  auto it = rings_.find(nsp);
  if (it == rings_.end()) {
    return out;
  }
  const std::deque<broker::Envelope>& ring = it->second;
  // Offsets grow along the ring, so the first newer event is found by bisection.
  auto first = std::upper_bound(ring.begin(), ring.end(), after,
                                [](uint64_t offset, const broker::Envelope& event) {
                                  return offset < event.offset;
                                });
  for (; first != ring.end() && out.size() < limit; ++first) {
    out.push_back(*first);
  }
  return out;
}

}  // namespace roomcast::storage
