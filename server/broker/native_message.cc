#include "server/broker/native_message.h"

#include <algorithm>

#include "server/broker/msgpack.h"

namespace roomcast::broker {
namespace {

constexpr std::string_view kTag = "rc1";  // Changes if the body ever does.

}  // namespace

std::string EncodeNativeBody(std::string_view origin, const core::Event& event) {
  MsgpackWriter writer;
  writer.Array(9);
  writer.Str(kTag);
  writer.Str(origin);
  writer.Str(event.nsp);
  writer.StrArray(event.rooms);
  writer.StrArray(event.except);
  writer.Bool(event.packet->is_volatile);
  writer.Str(event.packet->text);
  writer.Array(static_cast<uint32_t>(event.packet->attachments.size()));
  for (const std::string& attachment : event.packet->attachments) {
    writer.Bin(attachment);
  }
  writer.Uint(static_cast<uint64_t>(std::max<int64_t>(event.time_ms, 0)));
  return std::move(writer.bytes());
}

namespace {

// The body's fields after its tag; nullopt when it is `unless_from`'s.
absl::StatusOr<std::optional<NativeMessage>> ReadBody(MsgpackReader& body,
                                                      std::string_view unless_from) {
  const auto bad = absl::InvalidArgumentError("not a Roomcast event message");
  NativeMessage out;
  uint32_t fields = 0;
  std::string tag;
  if (!body.ReadArray(fields) || fields < 9 || !body.ReadStr(tag) || tag != kTag ||
      !body.ReadStr(out.origin)) {
    return bad;
  }
  if (!unless_from.empty() && out.origin == unless_from) {
    return std::nullopt;  // Before the packet is copied out: most of the bytes.
  }
  uint32_t attachment_count = 0;
  std::string text;
  bool is_volatile = false;
  if (!body.ReadStr(out.event.nsp) || !body.ReadStrArray(out.event.rooms) ||
      !body.ReadStrArray(out.event.except) || !body.ReadBool(is_volatile) || !body.ReadStr(text) ||
      !body.ReadArray(attachment_count)) {
    return bad;
  }
  std::vector<std::string> attachments(attachment_count);
  for (std::string& attachment : attachments) {
    if (!body.ReadBin(attachment)) {
      return bad;
    }
  }
  uint64_t time_ms = 0;
  if (!body.ReadUint(time_ms)) {
    return bad;
  }
  out.event.time_ms = static_cast<int64_t>(time_ms);
  out.event.packet = core::MakePacket(std::move(text), std::move(attachments), is_volatile);
  return out;
}

}  // namespace

absl::StatusOr<core::Event> DecodeNativeBody(std::string_view body) {
  absl::StatusOr<MsgpackReader> reader = MsgpackReader::Open(body);
  if (!reader.ok()) {
    return absl::InvalidArgumentError("not a Roomcast event message");
  }
  absl::StatusOr<std::optional<NativeMessage>> message = ReadBody(*reader, {});
  if (!message.ok()) {
    return message.status();
  }
  return std::move((*message)->event);
}

absl::StatusOr<std::optional<NativeMessage>> DecodeNativeMessage(std::string_view message,
                                                                 std::string_view unless_from) {
  const auto bad = absl::InvalidArgumentError("not a Roomcast event message");
  NativeMessage out;
  absl::StatusOr<MsgpackReader> offset = MsgpackReader::Open(message);
  if (!offset.ok() || !offset->ReadUint(out.event.position.offset)) {
    return bad;
  }
  absl::StatusOr<MsgpackReader> epoch = MsgpackReader::Open(offset->Rest());
  if (!epoch.ok() || !epoch->ReadStr(out.event.position.epoch)) {
    return bad;
  }
  absl::StatusOr<MsgpackReader> body = MsgpackReader::Open(epoch->Rest());
  if (!body.ok()) {
    return bad;
  }
  absl::StatusOr<std::optional<NativeMessage>> decoded = ReadBody(*body, unless_from);
  if (decoded.ok() && *decoded) {
    (*decoded)->event.position = std::move(out.event.position);
  }
  return decoded;
}

}  // namespace roomcast::broker
