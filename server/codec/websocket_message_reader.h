#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/codec/websocket_frame.h"

namespace roomcast::websocket {

// What a client's bytes amount to, one at a time.
struct Incoming {
  enum class Kind { kMessage, kPing, kPong, kClose };
  Kind kind = Kind::kMessage;
  bool binary = false;
  std::string_view data;  // message, ping/pong payload, or close reason
  uint16_t close_code = 0;
};

// Reads client frames (masked, possibly fragmented, with control frames in
// between) into whole messages. Frames are unmasked in place, so the caller
// hands over a writable buffer; an incomplete frame at the end is left for
// the caller to keep and hand back with the bytes that follow.
class MessageReader {
 public:
  explicit MessageReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  struct Result {
    size_t consumed = 0;
    // Set when the peer broke the protocol: close with this code and stop reading.
    CloseCode error{};
    bool failed() const { return error != CloseCode{}; }
  };

  // Calls `on_incoming(const Incoming&)` for each complete item; stops at
  // the first error. `data` views stay valid only during the call.
  template <typename Sink>
  Result Read(char* data, size_t size, Sink&& on_incoming);

 private:
  struct Header {
    bool fin;
    Opcode opcode;
    size_t header_bytes;
    uint64_t payload_bytes;
  };
  enum class Step { kNeedMore, kFrame, kError };
  Step ParseHeader(char* data, size_t size, Header& header, CloseCode& error) const;
  // Checks a frame in the context of the message being put together; fills
  // `out` when a message or control frame is complete.
  bool Accept(const Header& header, char* payload, Incoming& out, bool& complete, CloseCode& error);

  size_t max_message_bytes_;
  std::string fragments_;  // a fragmented message so far
  bool in_message_ = false;
  bool message_binary_ = false;
};

template <typename Sink>
MessageReader::Result MessageReader::Read(char* data, size_t size, Sink&& on_incoming) {
  Result result;
  while (result.consumed < size) {
    Header header{};
    Step step = ParseHeader(data + result.consumed, size - result.consumed, header, result.error);
    if (step == Step::kError) return result;
    if (step == Step::kNeedMore) return result;
    char* payload = data + result.consumed + header.header_bytes;
    Incoming incoming;
    bool complete = false;
    if (!Accept(header, payload, incoming, complete, result.error)) return result;
    result.consumed += header.header_bytes + header.payload_bytes;
    if (complete) {
      on_incoming(incoming);
      if (!in_message_ && !fragments_.empty()) std::string().swap(fragments_);
    }
  }
  return result;
}

}  // namespace roomcast::websocket
