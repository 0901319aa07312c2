#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "absl/status/statusor.h"

namespace roomcast::socketio {

enum class PacketType : int {
  kConnect = 0,
  kDisconnect = 1,
  kEvent = 2,
  kAck = 3,
  kConnectError = 4,
  kBinaryEvent = 5,
  kBinaryAck = 6,
};

// One Socket.IO v5 packet. Binary arguments stay as `{"_placeholder":true,"num":i}`
// in `data`, their bytes in `attachments[i]`: re-encoding is then a plain copy.
struct Packet {
  PacketType type = PacketType::kEvent;
  std::string nsp = "/";
  std::optional<uint64_t> id;
  std::optional<boost::json::value> data;
  std::vector<std::string> attachments;
};

inline constexpr size_t kDefaultMaxAttachments = 10;

// Encodes the text part (`<type>[<n>-][<nsp>,][<id>][<json>]`); the binary
// types take their attachment count from `attachments`.
std::string EncodeText(const Packet& packet);
// The Engine.IO message carrying `packet` (`4` + its text part): what the
// Socket.IO layer hands its session. Attachments travel beside it.
std::string EncodeMessage(const Packet& packet);
// The Engine.IO message of an EVENT to `nsp` (a BINARY_EVENT when
// `attachments` > 0) whose arguments are already serialized: built without a
// JSON tree, for emits (see EventArrayJson).
std::string EncodeEventMessage(std::string_view nsp, std::string_view event,
                               std::string_view args_json, size_t attachments);

// An EVENT message from EncodeEventMessage with `offset` as its last
// argument, as connection state recovery tags every logged event
// (PROTOCOL.md §3): the client keeps the last one it saw.
std::string WithOffsetArgument(std::string_view message, std::string_view offset);
// That offset: opaque to the client, which only echoes it back; it names the
// log (`epoch`) and the position in it.
std::string RecoveryOffset(std::string_view epoch, uint64_t offset);
bool ParseRecoveryOffset(std::string_view text, std::string& epoch, uint64_t& offset);

// Decodes and validates one text packet (PROTOCOL.md §2.2). A binary packet
// comes back with `attachments` empty and ExpectedAttachments() > 0.
struct DecodedText {
  Packet packet;
  size_t expected_attachments = 0;
};
absl::StatusOr<DecodedText> DecodeText(std::string_view text,
                                       size_t max_attachments = kDefaultMaxAttachments);

// Reassembles binary packets from a text packet and the attachments that follow.
class Decoder {
 public:
  explicit Decoder(size_t max_attachments = kDefaultMaxAttachments)
      : max_attachments_(max_attachments) {}

  // A complete packet, nullopt while attachments are still expected, or an error.
  absl::StatusOr<std::optional<Packet>> OnText(std::string_view text);
  absl::StatusOr<std::optional<Packet>> OnBinary(std::string_view bytes);

 private:
  size_t max_attachments_;
  // A binary packet waiting for its attachments; held apart, so a
  // connection not in the middle of one keeps only a pointer.
  std::unique_ptr<Packet> pending_;
  size_t expected_ = 0;
};

// `["event",args...]` as JSON text, the fast way: `args_json` is already a
// serialized JSON value list (without brackets) or empty.
std::string EventArrayJson(std::string_view event, std::string_view args_json);

// Event names Socket.IO keeps for itself (`connect`, `disconnect`, ...).
bool IsReservedEvent(std::string_view name);

}  // namespace roomcast::socketio
