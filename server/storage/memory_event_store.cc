#include "server/storage/memory_event_store.h"

#include <algorithm>

#include "server/base/ids.h"

namespace roomcast::storage {

MemoryEventStore::MemoryEventStore(size_t capacity) : capacity_(capacity), epoch_(base::NewId()) {}

absl::StatusOr<core::StreamPosition> MemoryEventStore::Append(const core::Event& event,
                                                              bool is_volatile) {
  absl::MutexLock lock(&mutex_);
  Log& log = logs_[event.nsp];
  core::StreamPosition position{++log.last_offset, epoch_};
  if (!is_volatile && capacity_ > 0) {
    log.ring.push_back(event);
    log.ring.back().position = position;
    if (log.ring.size() > capacity_) {
      log.ring.pop_front();
    }
  }
  return position;
}

std::vector<core::Event> MemoryEventStore::ReadAfter(const std::string& nsp, uint64_t after,
                                                     size_t limit) const {
  absl::MutexLock lock(&mutex_);
  std::vector<core::Event> out;
  auto it = logs_.find(nsp);
  if (it == logs_.end()) {
    return out;
  }
  const std::deque<core::Event>& ring = it->second.ring;
  // Offsets grow along the ring, so the first newer event is found by bisection.
  auto first = std::upper_bound(
      ring.begin(), ring.end(), after,
      [](uint64_t offset, const core::Event& event) { return offset < event.position.offset; });
  for (; first != ring.end() && out.size() < limit; ++first) {
    out.push_back(*first);
  }
  return out;
}

}  // namespace roomcast::storage
