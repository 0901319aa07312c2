#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace roomcast::core {

// What a browser sent that is for the application's services, or a change
// of its presence (DESIGN.md "events back from browsers").
struct ClientEvent {
  enum class Kind { kEvent, kConnect, kDisconnect, kJoin, kLeave };
  Kind kind = Kind::kEvent;
  std::string nsp;
  std::string name;       // The event name; for presence, the kind's name.
  std::string args_json;  // A JSON array; binary arguments are placeholders.
  std::vector<std::string> attachments;
  std::string socket_id;
  std::string user_id;
  std::string claims_json;  // Empty unless the socket authenticated.
  std::vector<std::string> rooms;
  std::string reason;  // Why it disconnected.
  int64_t time_ms = 0;
  bool wants_ack = false;
  // The socket's last traced EmitWithAck's traceparent (Member::set_trace).
  std::string traceparent;
};

inline std::string_view KindName(ClientEvent::Kind kind) {
  switch (kind) {
    case ClientEvent::Kind::kEvent:
      return "event";
    case ClientEvent::Kind::kConnect:
      return "connect";
    case ClientEvent::Kind::kDisconnect:
      return "disconnect";
    case ClientEvent::Kind::kJoin:
      return "join";
    case ClientEvent::Kind::kLeave:
      return "leave";
  }
  return "event";
}

// A service's answer to a browser's ack: the callback's arguments as a JSON
// array; UNAVAILABLE when no service takes the event, DEADLINE_EXCEEDED
// when none answered in time.
using ClientAckDone = absl::AnyInvocable<void(absl::StatusOr<std::string> args_json) &&>;

// Where client events leave the data plane for the services.
class ClientEventSink {
 public:
  virtual ~ClientEventSink() = default;
  // Hands `event` on; `done` (only when the browser waits for an ack) runs
  // once, on any thread.
  virtual void Offer(ClientEvent event, ClientAckDone done) = 0;
  // Whether any service follows presence in `nsp`: saves building events
  // nobody takes on every connect.
  virtual bool WantsPresence(std::string_view nsp) const = 0;
};

}  // namespace roomcast::core
