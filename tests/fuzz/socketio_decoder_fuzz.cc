// The Socket.IO packet decoder and binary reassembly: the input is a run of
// frames separated by NUL; a frame starting with 'b' is binary.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/codec/socketio_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  roomcast::socketio::Decoder decoder;
  while (!input.empty()) {
    const size_t end = input.find('\0');
    const std::string_view frame = input.substr(0, end);
    auto packet = !frame.empty() && frame.front() == 'b' ? decoder.OnBinary(frame.substr(1))
                                                         : decoder.OnText(frame);
    if (!packet.ok()) {
      decoder = roomcast::socketio::Decoder();  // A broken connection starts over.
    } else if (*packet) {
      (void)roomcast::socketio::EncodeText(**packet);
    }
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  }
  return 0;
}
