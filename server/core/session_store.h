#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "server/core/event.h"

namespace roomcast::core {

// A Socket.IO session kept for connection state recovery (PROTOCOL.md §3).
struct SessionRecord {
  std::string nsp;
  std::string pid;                 // The private id the client proves itself with.
  std::string sid;                 // The public id it gets back.
  std::string user_id;             // Who it authenticated as; empty: anonymous.
  std::vector<std::string> rooms;  // Its own id room included.
  // Where the namespace's log stood when it connected: a client that never
  // received an event resumes from here.
  StreamPosition joined;
  // This incarnation of the session: a later one (recovered elsewhere, or
  // again here) is never suspended or dropped by an older one.
  std::string owner;
  // When it went away (Unix ms); 0 while connected. Filled in by Claim.
  int64_t suspended_ms = 0;
};

// Where sessions live between a disconnect and the client's return: in
// memory on a single node, in Redis for a cluster (written while the
// session is connected, so a node that dies without a word loses nothing).
// Every call but Claim is fire-and-forget: a session that could not be
// saved is simply not recovered (the client gets a fresh one).
class SessionStore {
 public:
  using ClaimDone = absl::AnyInvocable<void(std::optional<SessionRecord>) &&>;
  virtual ~SessionStore() = default;

  // A session connected (or was recovered): `joined` is filled in by the
  // store, from the log's head.
  virtual void Save(const SessionRecord& record) = 0;
  // Its rooms changed (only while `owner` still owns it).
  virtual void UpdateRooms(const SessionRecord& record) = 0;
  // It went away unexpectedly: claimable for the recovery window from now.
  virtual void Suspend(const SessionRecord& record) = 0;
  // It ended for good.
  virtual void Drop(const SessionRecord& record) = 0;
  // Hands the session to a returning client, once: nullopt when unknown,
  // expired, or already claimed. `done` runs on any thread.
  virtual void Claim(const std::string& nsp, const std::string& pid, ClaimDone done) = 0;
  // Puts back a session Claim handed out to a reconnect that was then
  // refused (an expired token, another user): its client may still come
  // back, within what is left of its window.
  virtual void Restore(const SessionRecord& record) = 0;
};

}  // namespace roomcast::core
