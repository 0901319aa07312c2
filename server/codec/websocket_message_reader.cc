#include "server/codec/websocket_message_reader.h"

#include <cstring>

namespace roomcast::websocket {

namespace {

bool IsControl(Opcode opcode) { return static_cast<uint8_t>(opcode) & 0x8; }

bool IsKnown(uint8_t opcode) { return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA); }

// Clients mask every frame with a 4-byte key (RFC 6455 §5.3).
void Unmask(char* payload, uint64_t size, const unsigned char key[4]) {
  uint64_t i = 0;
  uint64_t key64;
  unsigned char repeated[8];
  for (int k = 0; k < 8; ++k) repeated[k] = key[k % 4];
  std::memcpy(&key64, repeated, 8);
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, payload + i, 8);
    word ^= key64;
    std::memcpy(payload + i, &word, 8);
  }
  for (; i < size; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
}

}  // namespace

MessageReader::Step MessageReader::ParseHeader(char* data, size_t size, Header& header,
                                               CloseCode& error) const {
  if (size < 2) return Step::kNeedMore;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(data[i]); };
  const uint8_t opcode = byte(0) & 0x0f;
  // No extensions are negotiated, so the RSV bits must be clear.
  if ((byte(0) & 0x70) != 0 || !IsKnown(opcode) || (byte(1) & 0x80) == 0) {
    error = CloseCode::kProtocolError;
    return Step::kError;
  }
  header.fin = byte(0) & 0x80;
  header.opcode = static_cast<Opcode>(opcode);
  uint64_t length = byte(1) & 0x7f;
  size_t offset = 2;
  if (length == 126) {
    if (size < 4) return Step::kNeedMore;
    length = (uint64_t{byte(2)} << 8) | byte(3);
    offset = 4;
  } else if (length == 127) {
    if (size < 10) return Step::kNeedMore;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | byte(2 + i);
    offset = 10;
  }
  if (IsControl(header.opcode) && (!header.fin || length > 125)) {
    error = CloseCode::kProtocolError;
    return Step::kError;
  }
  const uint64_t so_far = IsControl(header.opcode) || !in_message_ ? 0 : fragments_.size();
  if (length > max_message_bytes_ || so_far + length > max_message_bytes_) {
    error = CloseCode::kTooBig;  // Known from the header alone: no need to buffer it.
    return Step::kError;
  }
  header.header_bytes = offset + 4;
  header.payload_bytes = length;
  if (size < header.header_bytes + length) return Step::kNeedMore;
  Unmask(data + header.header_bytes, length, reinterpret_cast<const unsigned char*>(data + offset));
  return Step::kFrame;
}

bool MessageReader::Accept(const Header& header, char* payload, Incoming& out, bool& complete,
                           CloseCode& error) {
  const std::string_view bytes(payload, header.payload_bytes);
  complete = false;
  switch (header.opcode) {
    case Opcode::kPing:
    case Opcode::kPong:
      out.kind = header.opcode == Opcode::kPing ? Incoming::Kind::kPing : Incoming::Kind::kPong;
      out.data = bytes;
      complete = true;
      return true;
    case Opcode::kClose: {
      out.kind = Incoming::Kind::kClose;
      if (bytes.size() == 1) {
        error = CloseCode::kProtocolError;
        return false;
      }
      if (bytes.size() >= 2) {
        out.close_code = static_cast<uint16_t>((static_cast<unsigned char>(bytes[0]) << 8) |
                                               static_cast<unsigned char>(bytes[1]));
        out.data = bytes.substr(2);
        if (!IsValidUtf8(out.data)) {
          error = CloseCode::kInvalidPayload;
          return false;
        }
      }
      complete = true;
      return true;
    }
    case Opcode::kText:
    case Opcode::kBinary:
      if (in_message_) {
        error = CloseCode::kProtocolError;  // a new message inside a fragmented one
        return false;
      }
      if (header.fin) {
        if (header.opcode == Opcode::kText && !IsValidUtf8(bytes)) {
          error = CloseCode::kInvalidPayload;
          return false;
        }
        out = {Incoming::Kind::kMessage, header.opcode == Opcode::kBinary, bytes, 0};
        complete = true;
        return true;
      }
      in_message_ = true;
      message_binary_ = header.opcode == Opcode::kBinary;
      fragments_.assign(bytes);
      return true;
    case Opcode::kContinuation:
      if (!in_message_) {
        error = CloseCode::kProtocolError;
        return false;
      }
      fragments_.append(bytes);
      if (!header.fin) return true;
      in_message_ = false;
      if (!message_binary_ && !IsValidUtf8(fragments_)) {
        error = CloseCode::kInvalidPayload;
        return false;
      }
      out = {Incoming::Kind::kMessage, message_binary_, fragments_, 0};
      complete = true;
      return true;
  }
  error = CloseCode::kProtocolError;
  return false;
}

}  // namespace roomcast::websocket
