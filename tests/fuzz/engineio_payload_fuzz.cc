// The Engine.IO polling payload and WebSocket packet decoders, on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/codec/engineio_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto packets = roomcast::engineio::DecodePayload(input); packets.ok()) {
    // What decodes must encode back to something that decodes the same.
    std::string payload;
    for (const auto& packet : *packets) {
      roomcast::engineio::AppendToPayload(
          payload,
          packet.binary ? packet.data
                        : roomcast::engineio::EncodeTextPacket(packet.type, packet.data),
          packet.binary);
    }
    auto again = roomcast::engineio::DecodePayload(payload);
    if (!again.ok() || *again != *packets) {
      __builtin_trap();
    }
  }
  (void)roomcast::engineio::DecodeTextPacket(input);
  return 0;
}
