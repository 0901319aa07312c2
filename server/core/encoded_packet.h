#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roomcast::core {

// One packet ready for the wire, encoded once and shared by every recipient.
// `text` is the Engine.IO text frame (`42["event",...]`, `2`, ...); binary
// attachments follow it as separate binary frames.
struct EncodedPacket {
  std::string text;
  std::vector<std::string> attachments;
  bool is_volatile = false;  // May be dropped when the recipient cannot keep up.
  // Its event's position in the namespace's log when the packet carries it
  // (connection state recovery); 0 otherwise.
  uint64_t offset = 0;

  size_t bytes() const {
    size_t total = text.size();
    for (const std::string& attachment : attachments) {
      total += attachment.size();
    }
    return total;
  }
};

using SharedPacket = std::shared_ptr<const EncodedPacket>;

inline SharedPacket MakePacket(std::string text, std::vector<std::string> attachments = {},
                               bool is_volatile = false) {
  return std::make_shared<const EncodedPacket>(
      EncodedPacket{std::move(text), std::move(attachments), is_volatile, 0});
}

// Someone packets can be delivered to: a Socket.IO socket.
class Recipient {
 public:
  virtual ~Recipient() = default;
  // Queues the packet; false when it was dropped instead.
  virtual bool Deliver(const SharedPacket& packet) = 0;
};

}  // namespace roomcast::core
