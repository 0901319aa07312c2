#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace roomcast::engineio {

// Engine.IO v4 packet types; the wire form is the ASCII digit.
enum class PacketType : char {
  kOpen = '0',
  kClose = '1',
  kPing = '2',
  kPong = '3',
  kMessage = '4',
  kUpgrade = '5',
  kNoop = '6',
};

struct Packet {
  PacketType type = PacketType::kMessage;
  std::string data;     // Everything after the type; raw bytes when `binary`.
  bool binary = false;  // Only messages are binary (WebSocket binary frame, or `b<base64>`).

  friend bool operator==(const Packet&, const Packet&) = default;
};

// The record separator between packets of a polling payload.
inline constexpr char kRecordSeparator = '\x1e';

// A text packet as carried by one WebSocket text frame: `<type><data>`.
absl::StatusOr<Packet> DecodeTextPacket(std::string_view frame);
std::string EncodeTextPacket(PacketType type, std::string_view data = {});

// A polling payload: packets joined with the record separator, binary as `b<base64>`.
absl::StatusOr<std::vector<Packet>> DecodePayload(std::string_view body);

// Appends one already-encoded frame to a polling payload. `frame` is the
// WebSocket form: `<type><data>` for text, raw bytes when `binary`.
void AppendToPayload(std::string& payload, std::string_view frame, bool binary);

}  // namespace roomcast::engineio
