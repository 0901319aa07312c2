// What arrives from Redis: Socket.IO adapter/emitter broadcasts (MessagePack),
// their JSON requests, and other Roomcast nodes' event messages. The first
// byte picks the decoder; anything must come back as a value or an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/broker/classic_message.h"
#include "server/broker/native_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto broadcast = roomcast::broker::DecodeClassicBroadcast(input);
      if (broadcast.ok() && broadcast->event.packet->text.empty()) {
        __builtin_trap();  // A decoded event always has a packet.
      }
      break;
    }
    case 1:
      (void)roomcast::broker::DecodeClassicRequest("/", input);
      break;
    default: {
      auto message = roomcast::broker::DecodeNativeMessage(input, "node-a");
      if (message.ok() && message->has_value() && (*message)->event.packet == nullptr) {
        __builtin_trap();
      }
      break;
    }
  }
  return 0;
}
