#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/functional/any_invocable.h"
#include "server/core/encoded_packet.h"
#include "server/core/event_store.h"
#include "server/core/session_store.h"

namespace roomcast::socketio {

// Socket.IO's connection state recovery (PROTOCOL.md §3) over whichever
// session store and event log the server runs: how offsets look on the
// wire, and which logged events a returning session missed.
class Recovery {
 public:
  Recovery(core::SessionStore& sessions, core::EventReader& log, size_t max_replay)
      : sessions_(sessions), log_(log), max_replay_(max_replay) {}

  core::SessionStore& sessions() { return sessions_; }

  // The position a client's offset argument names (see RecoveryOffset).
  static std::optional<core::StreamPosition> DecodeOffset(std::string_view offset);

  // Every logged event after `from` that targeted one of `rooms` and none of
  // them as an exception, oldest first, tagged; nullopt when the log no
  // longer holds them all (reset, trimmed, or more than max_replay). `done`
  // runs on any thread, with how far the log was read (held live packets up
  // to there were replayed or not meant for the socket).
  using MissedDone = absl::AnyInvocable<void(std::optional<std::vector<core::SharedPacket>> missed,
                                             uint64_t replayed_upto) &&>;
  void Missed(const std::string& nsp, const core::StreamPosition& from,
              absl::btree_set<std::string> rooms, MissedDone done);

 private:
  core::SessionStore& sessions_;
  core::EventReader& log_;
  const size_t max_replay_;
};

}  // namespace roomcast::socketio
