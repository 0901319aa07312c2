#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/core/event.h"

namespace roomcast::core {

// The log of emitted events, by namespace: it numbers each event as it
// appends it (the emitter numbers nothing itself), and is the source for
// history and connection state recovery.
class EventStore {
 public:
  virtual ~EventStore() = default;
  // Appends `event` to its namespace's log and returns its position there.
  // A volatile event is numbered but not kept (nobody may ask for it back).
  // An error means nothing was appended, and the event must not be delivered.
  virtual absl::StatusOr<StreamPosition> Append(const Event& event, bool is_volatile) = 0;
  // Events of `nsp` with an offset greater than `after`, oldest first, at most `limit`.
  virtual std::vector<Event> ReadAfter(const std::string& nsp, uint64_t after,
                                       size_t limit) const = 0;
};

}  // namespace roomcast::core
