#include "server/broker/classic_message.h"

#include <boost/json/parse.hpp>

#include "server/broker/msgpack.h"
#include "server/codec/socketio_packet.h"

namespace roomcast::broker {
namespace {

constexpr uint64_t kEvent = 2;        // socket.io-parser PacketType.EVENT
constexpr uint64_t kBinaryEvent = 5;  // PacketType.BINARY_EVENT

struct Packet {
  uint64_t type = kEvent;
  std::string nsp = "/";
  std::string event;
  std::string args_json;
  std::vector<std::string> attachments;
};

bool ReadPacket(MsgpackReader& reader, Packet& packet) {
  uint32_t fields = 0;
  if (!reader.ReadMap(fields)) {
    return false;
  }
  bool has_data = false;
  for (uint32_t i = 0; i < fields; ++i) {
    std::string key;
    if (!reader.ReadStr(key)) {
      return false;
    }
    if (key == "type") {
      if (!reader.ReadUint(packet.type)) {
        return false;
      }
    } else if (key == "nsp") {
      if (!reader.ReadStr(packet.nsp)) {
        return false;
      }
    } else if (key == "data") {
      uint32_t items = 0;
      if (!reader.ReadArray(items) || items == 0 || !reader.ReadStr(packet.event)) {
        return false;
      }
      for (uint32_t item = 1; item < items; ++item) {
        if (item > 1) {
          packet.args_json += ',';
        }
        if (!reader.ReadJson(packet.args_json, packet.attachments)) {
          return false;
        }
      }
      has_data = true;
    } else {
      reader.Skip();
    }
  }
  return has_data;
}

bool ReadOptions(MsgpackReader& reader, core::Event& event, bool& is_volatile) {
  uint32_t fields = 0;
  if (!reader.ReadMap(fields)) {
    return false;
  }
  for (uint32_t i = 0; i < fields; ++i) {
    std::string key;
    if (!reader.ReadStr(key)) {
      return false;
    }
    if (key == "rooms") {
      if (!reader.ReadStrArray(event.rooms)) {
        return false;
      }
    } else if (key == "except") {
      if (!reader.ReadStrArray(event.except)) {
        return false;
      }
    } else if (key == "flags") {
      uint32_t flags = 0;
      if (!reader.ReadMap(flags)) {
        return false;
      }
      for (uint32_t flag = 0; flag < flags; ++flag) {
        std::string name;
        if (!reader.ReadStr(name)) {
          return false;
        }
        if (name == "volatile") {
          if (!reader.ReadBool(is_volatile)) {
            reader.Skip();
          }
        } else {
          reader.Skip();
        }
      }
    } else {
      reader.Skip();
    }
  }
  return true;
}

std::vector<std::string> Strings(const boost::json::value* value) {
  std::vector<std::string> out;
  if (value != nullptr && value->is_array()) {
    for (const boost::json::value& item : value->get_array()) {
      if (item.is_string()) {
        out.emplace_back(item.get_string());
      }
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<ClassicBroadcast> DecodeClassicBroadcast(std::string_view message) {
  const auto bad = absl::InvalidArgumentError("not a Socket.IO Redis adapter broadcast");
  absl::StatusOr<MsgpackReader> reader = MsgpackReader::Open(message);
  uint32_t items = 0;
  ClassicBroadcast out;
  Packet packet;
  bool is_volatile = false;
  if (!reader.ok() || !reader->ReadArray(items) || items < 3 || !reader->ReadStr(out.uid) ||
      !ReadPacket(*reader, packet) || !ReadOptions(*reader, out.event, is_volatile)) {
    return bad;
  }
  if (packet.type != kEvent && packet.type != kBinaryEvent) {
    return absl::InvalidArgumentError("only events are broadcast");
  }
  if (socketio::IsReservedEvent(packet.event)) {
    return absl::InvalidArgumentError("reserved event name");
  }
  out.event.nsp = std::move(packet.nsp);
  std::string text = socketio::EncodeEventMessage(out.event.nsp, packet.event, packet.args_json,
                                                  packet.attachments.size());
  out.event.packet = core::MakePacket(std::move(text), std::move(packet.attachments), is_volatile);
  return out;
}

absl::StatusOr<std::optional<core::RoomCommand>> DecodeClassicRequest(std::string_view nsp,
                                                                      std::string_view message) {
  boost::system::error_code ec;
  boost::json::value request = boost::json::parse(message, ec);
  if (ec || !request.is_object()) {
    return absl::InvalidArgumentError("not a JSON request");
  }
  const boost::json::object& object = request.get_object();
  const boost::json::value* type = object.if_contains("type");
  if (type == nullptr || !type->is_number()) {
    return absl::InvalidArgumentError("request without a type");
  }
  core::RoomCommand command;
  const int64_t kind = type->is_int64() ? type->get_int64() : -1;
  if (kind == 2 || kind == 3) {
    command.kind = kind == 2 ? core::RoomCommand::Kind::kJoin : core::RoomCommand::Kind::kLeave;
    command.rooms = Strings(object.if_contains("rooms"));
  } else if (kind == 4) {
    command.kind = core::RoomCommand::Kind::kDisconnect;
    const boost::json::value* close = object.if_contains("close");
    command.close_connection = close != nullptr && close->is_bool() && close->get_bool();
  } else {
    return std::nullopt;
  }
  command.nsp = std::string(nsp);
  if (const boost::json::value* opts = object.if_contains("opts"); opts && opts->is_object()) {
    command.targets = Strings(opts->get_object().if_contains("rooms"));
    command.except = Strings(opts->get_object().if_contains("except"));
  }
  return command;
}

}  // namespace roomcast::broker
