#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/core/event_store.h"

namespace roomcast::storage {

// The embedded default: the newest `capacity` events of each namespace,
// none older than `retention`, in memory, numbered from 1 under an epoch
// drawn when the log is made (a restarted process has a new log).
class MemoryEventStore final : public core::EventStore {
 public:
  explicit MemoryEventStore(size_t capacity,
                            std::chrono::milliseconds retention = std::chrono::hours(24 * 7));

  void Append(const core::Event& event, std::string_view idempotency_key, AppendDone done) override;
  void Read(core::LogQuery query, ReadDone done) override;
  core::StreamPosition Head(const std::string& nsp) const override;
  const std::string& epoch() const { return epoch_; }

 private:
  struct Log {
    uint64_t last_offset = 0;
    std::deque<core::Event> ring;
  };
  void DropExpired(Log& log, int64_t now_ms) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const size_t capacity_;
  const std::chrono::milliseconds retention_;
  const std::string epoch_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Log> logs_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::storage
