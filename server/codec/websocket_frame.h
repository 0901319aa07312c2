#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// RFC 6455 framing, server side. Pure: no sockets, so it is fuzzed and unit
// tested alone. Beast does the opening handshake; the framing is ours
// because Beast's stream keeps kilobytes of buffers per connection and
// writes one message per system call, where we send every message a
// connection has waiting in one write.
namespace roomcast::websocket {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes we send (RFC 6455 §7.4.1); 4000 is Roomcast's "slow consumer".
enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kInvalidPayload = 1007,
  kTooBig = 1009,
  kSlowConsumer = 4000,
};

constexpr size_t kMaxHeaderBytes = 10;

// Appends the header of an unmasked frame (servers never mask) with FIN set.
void AppendFrameHeader(std::string& out, Opcode opcode, size_t payload_bytes);
// A whole close frame with `code` and an optional reason (cut to fit 125 bytes).
std::string CloseFrame(CloseCode code, std::string_view reason = {});

// RFC 3629 UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace roomcast::websocket
