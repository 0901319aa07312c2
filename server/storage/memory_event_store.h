#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/core/event_store.h"

namespace roomcast::storage {

// The embedded default: the newest `capacity` events of each namespace in
// memory, numbered from 1 under an epoch drawn when the log is made (a
// restarted process has a new log).
class MemoryEventStore final : public core::EventStore {
 public:
  explicit MemoryEventStore(size_t capacity);

  absl::StatusOr<core::StreamPosition> Append(const core::Event& event, bool is_volatile) override;
  std::vector<core::Event> ReadAfter(const std::string& nsp, uint64_t after,
                                     size_t limit) const override;
  const std::string& epoch() const { return epoch_; }

 private:
  struct Log {
    uint64_t last_offset = 0;
    std::deque<core::Event> ring;
  };

  const size_t capacity_;
  const std::string epoch_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Log> logs_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::storage
