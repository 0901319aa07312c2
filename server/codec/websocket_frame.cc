#include "server/codec/websocket_frame.h"

#include <cstring>

namespace roomcast::websocket {

void AppendFrameHeader(std::string& out, Opcode opcode, size_t payload_bytes) {
  char header[kMaxHeaderBytes];
  size_t size = 2;
  header[0] = static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  if (payload_bytes < 126) {
    header[1] = static_cast<char>(payload_bytes);
  } else if (payload_bytes <= 0xffff) {
    header[1] = 126;
    header[2] = static_cast<char>(payload_bytes >> 8);
    header[3] = static_cast<char>(payload_bytes & 0xff);
    size = 4;
  } else {
    header[1] = 127;
    for (int i = 0; i < 8; ++i) {
      header[2 + i] =
          static_cast<char>((static_cast<uint64_t>(payload_bytes) >> (56 - 8 * i)) & 0xff);
    }
    size = 10;
  }
  out.append(header, size);
}

std::string CloseFrame(CloseCode code, std::string_view reason) {
  reason = reason.substr(0, 123);
  std::string frame;
  AppendFrameHeader(frame, Opcode::kClose, 2 + reason.size());
  frame.push_back(static_cast<char>(static_cast<uint16_t>(code) >> 8));
  frame.push_back(static_cast<char>(static_cast<uint16_t>(code) & 0xff));
  frame.append(reason);
  return frame;
}

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // ASCII runs go eight bytes at a time.
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t min, code;
    if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80, code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800, code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    p += extra + 1;
  }
  return true;
}

}  // namespace roomcast::websocket
