#include "server/socketio/recovery.h"

#include "server/codec/socketio_packet.h"

namespace roomcast::socketio {
namespace {

// Whether `event` was meant for a socket in `rooms` (Socket.IO's
// shouldIncludePacket).
bool Reaches(const core::Event& event, const absl::btree_set<std::string>& rooms) {
  for (const std::string& except : event.except) {
    if (rooms.contains(except)) {
      return false;
    }
  }
  if (event.rooms.empty()) {
    return true;
  }
  for (const std::string& room : event.rooms) {
    if (rooms.contains(room)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<core::StreamPosition> Recovery::DecodeOffset(std::string_view offset) {
  core::StreamPosition position;
  if (!ParseRecoveryOffset(offset, position.epoch, position.offset)) {
    return std::nullopt;
  }
  return position;
}

void Recovery::Missed(const std::string& nsp, const core::StreamPosition& from,
                      absl::btree_set<std::string> rooms, MissedDone done) {
  core::LogQuery query;
  query.nsp = nsp;
  query.after = from.offset;
  query.limit = max_replay_ + 1;
  log_.Read(std::move(query), [from, rooms = std::move(rooms), limit = max_replay_,
                               done = std::move(done)](absl::StatusOr<core::LogPage> page) mutable {
    // Joined before the namespace logged anything (or before its log was
    // reset): the whole log is after it.
    const bool from_start = from.offset == 0;
    if (!page.ok() || page->events.size() > limit ||
        !page->Holds(from_start ? page->epoch : from.epoch, from.offset)) {
      std::move(done)(std::nullopt, 0);  // Never a partial replay passed off as complete.
      return;
    }
    std::vector<core::SharedPacket> missed;
    for (const core::Event& event : page->events) {
      if (Reaches(event, rooms)) {
        missed.push_back(core::TaggedPacket(event));
      }
    }
    std::move(done)(std::move(missed), page->last);
  });
}

}  // namespace roomcast::socketio
