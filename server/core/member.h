#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "server/core/encoded_packet.h"

namespace roomcast::core {

// A socket as the room index and the control plane see it.
class Member : public Recipient {
 public:
  virtual const std::string& id() const = 0;
  // Every room it is in, its own id room included, sorted.
  virtual std::vector<std::string> RoomNames() const = 0;
  virtual void JoinRoom(std::string_view room) = 0;
  virtual void LeaveRoom(std::string_view room) = 0;
  // Leaves the namespace (the client is told); with `close_connection`, the
  // client's whole connection ends, every namespace on it too.
  virtual void Disconnect(bool close_connection) = 0;

  // The client's answer to an Ask: its ack's arguments as a JSON array,
  // binary ones as placeholders into `attachments`.
  using AnswerHandler =
      absl::AnyInvocable<void(std::string args_json, std::vector<std::string> attachments) &&>;
  // Sends `event` with `arg_json` (one JSON value; empty: no argument) and
  // asks for an ack: `on_answer` runs on the member's thread when it comes,
  // unless Forget(id) came first or the member left. Returns the ack's id.
  virtual uint64_t Ask(std::string_view event, std::string_view arg_json,
                       AnswerHandler on_answer) = 0;
  // Stops waiting for the answer to Ask `id` (it timed out).
  virtual void Forget(uint64_t id) = 0;
  // The W3C traceparent of a traced call that asked it: its later client
  // events carry it. Members that send none ignore it.
  virtual void set_trace(std::string_view /*traceparent*/) {}
};

}  // namespace roomcast::core
