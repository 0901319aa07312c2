#include "server/broker/native_message.h"

#include "server/broker/msgpack.h"

namespace roomcast::broker {
namespace {

constexpr std::string_view kTag = "rc1";  // Changes if the body ever does.

}  // namespace

std::string EncodeNativeBody(std::string_view origin, const core::Event& event) {
  MsgpackWriter writer;
  writer.Array(8);
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
  return std::move(writer.bytes());
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
  uint32_t fields = 0;
  std::string tag;
  if (!body.ok() || !body->ReadArray(fields) || fields < 8 || !body->ReadStr(tag) || tag != kTag ||
      !body->ReadStr(out.origin)) {
    return bad;
  }
  if (!unless_from.empty() && out.origin == unless_from) {
    return std::nullopt;  // Before the packet is copied out: most of the bytes.
  }
  uint32_t attachment_count = 0;
  std::string text;
  bool is_volatile = false;
  if (!body->ReadStr(out.event.nsp) || !body->ReadStrArray(out.event.rooms) ||
      !body->ReadStrArray(out.event.except) || !body->ReadBool(is_volatile) ||
      !body->ReadStr(text) || !body->ReadArray(attachment_count)) {
    return bad;
  }
  std::vector<std::string> attachments(attachment_count);
  for (std::string& attachment : attachments) {
    if (!body->ReadBin(attachment)) {
      return bad;
    }
  }
  out.event.packet = core::MakePacket(std::move(text), std::move(attachments), is_volatile);
  return out;
}

}  // namespace roomcast::broker
