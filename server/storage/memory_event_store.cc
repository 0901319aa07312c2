#include "server/storage/memory_event_store.h"

#include <algorithm>

#include "server/base/clock.h"
#include "server/base/ids.h"

namespace roomcast::storage {
MemoryEventStore::MemoryEventStore(size_t capacity, std::chrono::milliseconds retention)
    : capacity_(capacity), retention_(retention), epoch_(base::NewId()) {}

void MemoryEventStore::DropExpired(Log& log, int64_t now_ms) const {
  while (!log.ring.empty() && log.ring.front().time_ms < now_ms - retention_.count()) {
    log.ring.pop_front();
  }
}

// Idempotency keys are the control plane's cache's alone here: one node
// sees every repeat.
void MemoryEventStore::Append(const core::Event& event, std::string_view, AppendDone done) {
  if (event.packet->is_volatile) {
    std::move(done)(core::Published{});
    return;
  }
  core::StreamPosition position;
  {
    absl::MutexLock lock(&mutex_);
    Log& log = logs_[event.nsp];
    position = core::StreamPosition{++log.last_offset, epoch_};
    if (capacity_ > 0) {
      log.ring.push_back(event);
      log.ring.back().position = position;
      if (log.ring.size() > capacity_) {
        log.ring.pop_front();
      }
    }
    DropExpired(log, base::UnixMillis());
  }
  std::move(done)(core::Published{std::move(position), false});
}

void MemoryEventStore::Read(core::LogQuery query, ReadDone done) {
  core::LogPage page;
  {
    absl::MutexLock lock(&mutex_);
    auto it = logs_.find(query.nsp);
    if (it != logs_.end()) {
      Log& log = it->second;
      DropExpired(log, base::UnixMillis());
      page.epoch = epoch_;
      page.last = log.last_offset;
      page.first = log.ring.empty() ? log.last_offset + 1 : log.ring.front().position.offset;
      // Offsets grow along the ring, so the first newer event is found by bisection.
      auto newer = std::upper_bound(
          log.ring.begin(), log.ring.end(), query.after,
          [](uint64_t offset, const core::Event& event) { return offset < event.position.offset; });
      auto take = [&](const core::Event& event) {
        if (query.room.empty() || core::Targets(event, query.room)) {
          page.events.push_back(event);
        }
        return page.events.size() < query.limit;
      };
      if (query.reverse) {
        for (auto at = log.ring.end(); at != newer && take(*--at);) {
        }
      } else {
        for (auto at = newer; at != log.ring.end() && take(*at); ++at) {
        }
      }
    }
  }
  std::move(done)(std::move(page));
}

core::StreamPosition MemoryEventStore::Head(const std::string& nsp) const {
  absl::MutexLock lock(&mutex_);
  auto it = logs_.find(nsp);
  return core::StreamPosition{it == logs_.end() ? 0 : it->second.last_offset, epoch_};
}

}  // namespace roomcast::storage
