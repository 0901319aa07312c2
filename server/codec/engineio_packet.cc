#include "server/codec/engineio_packet.h"
#include "server/base/string_view.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace roomcast::engineio {

absl::StatusOr<Packet> DecodeTextPacket(std::string_view frame) {
  if (frame.empty()) {
    return absl::InvalidArgumentError("empty Engine.IO packet");
  }
  const char type = frame.front();
  if (type < '0' || type > '6') {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown Engine.IO packet type '", absl::CHexEscape(ToAbsl(frame.substr(0, 1))), "'"));
  }
  return Packet{static_cast<PacketType>(type), std::string(frame.substr(1)), false};
}

std::string EncodeTextPacket(PacketType type, std::string_view data) {
  std::string out;
  out.reserve(1 + data.size());
  out.push_back(static_cast<char>(type));
  out.append(data);
  return out;
}

absl::StatusOr<std::vector<Packet>> DecodePayload(std::string_view body) {
  std::vector<Packet> packets;
  for (absl::string_view part : absl::StrSplit(ToAbsl(body), kRecordSeparator)) {
    if (!part.empty() && part.front() == 'b') {
      std::string bytes;
      if (!absl::Base64Unescape(part.substr(1), &bytes)) {
        return absl::InvalidArgumentError("invalid base64 in binary packet");
      }
      packets.push_back(Packet{PacketType::kMessage, std::move(bytes), true});
      continue;
    }
    absl::StatusOr<Packet> packet = DecodeTextPacket(ToStd(part));
    if (!packet.ok()) {
      return packet.status();
    }
    packets.push_back(*std::move(packet));
  }
  return packets;
}

void AppendToPayload(std::string& payload, std::string_view frame, bool binary) {
  if (!payload.empty()) {
    payload.push_back(kRecordSeparator);
  }
  if (binary) {
    payload.push_back('b');
    payload.append(absl::Base64Escape(ToAbsl(frame)));
  } else {
    payload.append(frame);
  }
}

}  // namespace roomcast::engineio
