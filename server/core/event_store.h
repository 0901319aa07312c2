#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/core/event.h"

namespace roomcast::core {

// The outcome of logging (and publishing) one event.
struct Published {
  StreamPosition position;
  // The idempotency key was seen before (on any node): nothing was
  // published; `position` is the first attempt's.
  bool duplicate = false;
};

// What to read from one namespace's log.
struct LogQuery {
  std::string nsp = "/";
  std::string room;  // Only events that target it (a namespace-wide event targets all).
  uint64_t after = 0;
  size_t limit = 100;
  bool reverse = false;  // Newest first, still above `after`.
};

// Part of a log, and where the log stands: `first` is the oldest offset it
// still holds (last + 1 when it holds none), `last` the newest it assigned,
// so a reader can tell "nothing after N" from "N was dropped".
struct LogPage {
  std::vector<Event> events;
  std::string epoch;  // Empty: nothing was ever logged in the namespace.
  uint64_t first = 1;
  uint64_t last = 0;

  // Whether every event after `after` of log `epoch` is still held.
  bool Holds(std::string_view epoch_wanted, uint64_t after) const {
    return epoch == epoch_wanted && after <= last && first <= after + 1;
  }
};

// Where history and recovery read events back.
class EventReader {
 public:
  using ReadDone = absl::AnyInvocable<void(absl::StatusOr<LogPage>) &&>;
  virtual ~EventReader() = default;
  // `done` runs on any thread.
  virtual void Read(LogQuery query, ReadDone done) = 0;
};

// The log of emitted events, by namespace: it numbers each non-volatile
// event as it appends it (the emitter numbers nothing itself). Volatile
// events are neither numbered nor kept: nobody may ask for them back.
class EventStore : public EventReader {
 public:
  using AppendDone = absl::AnyInvocable<void(absl::StatusOr<Published>) &&>;
  // `done` runs on any thread once the event is appended (durably, for a
  // durable log), or with why it was not: then it must not be delivered.
  // A key seen before in the namespace (where the log keeps keys) answers
  // the first position as a duplicate.
  virtual void Append(const Event& event, std::string_view idempotency_key, AppendDone done) = 0;
  // Where the namespace's log ends, as far as this process knows (cheap).
  virtual StreamPosition Head(const std::string& nsp) const = 0;
};

// Whether `event` targets `room` (an event for the whole namespace targets every room).
inline bool Targets(const Event& event, std::string_view room) {
  if (event.rooms.empty()) {
    return true;
  }
  for (const std::string& target : event.rooms) {
    if (target == room) {
      return true;
    }
  }
  return false;
}

}  // namespace roomcast::core
