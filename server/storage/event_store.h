#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"

namespace roomcast::storage {

// The log of emitted events, by namespace and offset: the source for history
// and connection state recovery. Volatile events are never stored.
class EventStore {
 public:
  virtual ~EventStore() = default;
  virtual void Append(const broker::Envelope& event) = 0;
  // Events of `nsp` with an offset greater than `after`, oldest first, at most `limit`.
  virtual std::vector<broker::Envelope> ReadAfter(const std::string& nsp, uint64_t after,
                                                  size_t limit) const = 0;
};

// The embedded default: the newest `capacity` events of each namespace in memory.
class MemoryEventStore final : public EventStore {
 public:
  explicit MemoryEventStore(size_t capacity) : capacity_(capacity) {}

  void Append(const broker::Envelope& event) override;
  std::vector<broker::Envelope> ReadAfter(const std::string& nsp, uint64_t after,
                                          size_t limit) const override;

 private:
  size_t capacity_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::deque<broker::Envelope>> rings_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::storage
