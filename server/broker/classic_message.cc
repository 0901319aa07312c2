#include "server/broker/classic_message.h"

#include <set>

#include <boost/json.hpp>

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
  bool has_data = false;
  const bool read = reader.ReadFields([&](const std::string& key) {
    if (key == "type") {
      return reader.ReadUint(packet.type);
    }
    if (key == "nsp") {
      return reader.ReadStr(packet.nsp);
    }
    if (key != "data") {
      reader.Skip();
      return true;
    }
    uint32_t items = 0;
    if (!reader.ReadArray(items) || items == 0 || !reader.ReadStr(packet.event)) {
      return false;
    }
    for (uint32_t item = 1; item < items; ++item) {
      packet.args_json += item > 1 ? "," : "";
      if (!reader.ReadJson(packet.args_json, packet.attachments)) {
        return false;
      }
    }
    has_data = true;
    return true;
  });
  return read && has_data;
}

bool ReadOptions(MsgpackReader& reader, core::Event& event, bool& is_volatile) {
  return reader.ReadFields([&](const std::string& key) {
    if (key == "rooms") {
      return reader.ReadStrArray(event.rooms);
    }
    if (key == "except") {
      return reader.ReadStrArray(event.except);
    }
    if (key == "flags") {
      return reader.ReadFields([&](const std::string& flag) {
        if (flag != "volatile" || !reader.ReadBool(is_volatile)) {
          reader.Skip();  // Other flags, or a volatile that is not a boolean.
        }
        return true;
      });
    }
    reader.Skip();
    return true;
  });
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

absl::StatusOr<std::string> EncodeClassicBroadcast(std::string_view uid, const core::Event& event) {
  // The packet is kept framed for Engine.IO: '4' (message), then Socket.IO's text.
  const std::string_view text = event.packet->text;
  if (!text.starts_with('4')) {
    return absl::InternalError("the event's packet is not an Engine.IO message");
  }
  absl::StatusOr<socketio::DecodedText> decoded =
      socketio::DecodeText(text.substr(1), event.packet->attachments.size());
  if (!decoded.ok() || !decoded->packet.data || !decoded->packet.data->is_array()) {
    return absl::InternalError("the event's packet does not read back");
  }
  MsgpackWriter writer;
  writer.Array(3);
  writer.Str(uid);
  writer.Map(3);
  writer.Str("type");
  writer.Uint(kEvent);  // The receiving server makes it binary if it has to.
  writer.Str("data");
  writer.Json(*decoded->packet.data, event.packet->attachments);
  writer.Str("nsp");
  writer.Str(event.nsp);
  writer.Map(3);
  writer.Str("rooms");
  writer.StrArray(event.rooms);
  writer.Str("except");
  writer.StrArray(event.except);
  writer.Str("flags");
  writer.Map(event.packet->is_volatile ? 1 : 0);
  if (event.packet->is_volatile) {
    writer.Str("volatile");
    writer.Bool(true);
  }
  return std::move(writer.bytes());
}

absl::StatusOr<ClassicRequest> DecodeClassicRequest(std::string_view nsp,
                                                    std::string_view message) {
  ClassicRequest out;
  if (message.empty() || message.front() != '{') {
    return out;  // MessagePack: broadcasts with acks, which this node takes no part in.
  }
  boost::system::error_code ec;
  boost::json::value request = boost::json::parse(message, ec);
  if (ec || !request.is_object()) {
    return absl::InvalidArgumentError("not a JSON request");
  }
  const boost::json::object& object = request.get_object();
  const boost::json::value* type = object.if_contains("type");
  if (type == nullptr || !type->is_int64()) {
    return absl::InvalidArgumentError("request without a numeric type");
  }
  const boost::json::value* id = object.if_contains("requestId");
  const std::string request_id =
      id != nullptr && id->is_string() ? std::string(id->get_string()) : "";
  core::RoomCommand& command = out.command;
  command.nsp = std::string(nsp);
  const boost::json::value* opts = object.if_contains("opts");
  if (opts != nullptr && opts->is_object()) {
    command.targets = Strings(opts->get_object().if_contains("rooms"));
    command.except = Strings(opts->get_object().if_contains("except"));
  }
  // A command for one socket (by id) is answered; one for rooms is not.
  const boost::json::value* sid = object.if_contains("sid");
  const bool one_socket = opts == nullptr && sid != nullptr && sid->is_string();
  switch (type->get_int64()) {
    case 0:
      out.kind = ClassicRequest::Kind::kSocketIds;
      command.targets = Strings(object.if_contains("rooms"));
      out.request_id = request_id;
      break;
    case 1:
      out.kind = ClassicRequest::Kind::kAllRooms;
      out.request_id = request_id;
      break;
    case 5:
      out.kind = ClassicRequest::Kind::kFetchSockets;
      out.request_id = request_id;
      break;
    case 2:
    case 3:
    case 4: {
      out.kind = ClassicRequest::Kind::kCommand;
      command.kind = type->get_int64() == 2   ? core::RoomCommand::Kind::kJoin
                     : type->get_int64() == 3 ? core::RoomCommand::Kind::kLeave
                                              : core::RoomCommand::Kind::kDisconnect;
      command.rooms = Strings(object.if_contains("rooms"));
      const boost::json::value* room = object.if_contains("room");
      if (room != nullptr && room->is_string()) {
        command.rooms = {std::string(room->get_string())};
      }
      const boost::json::value* close = object.if_contains("close");
      command.close_connection = close != nullptr && close->is_bool() && close->get_bool();
      if (one_socket) {
        command.targets = {std::string(sid->get_string())};  // Its own id room.
        out.request_id = request_id;
      }
      break;
    }
    default:
      break;  // kIgnored
  }
  return out;
}

std::string EncodeClassicResponse(const ClassicRequest& request,
                                  const std::vector<core::SocketSummary>& sockets) {
  boost::json::object response{{"requestId", request.request_id}};
  switch (request.kind) {
    case ClassicRequest::Kind::kFetchSockets: {
      boost::json::array list;
      for (const core::SocketSummary& socket : sockets) {
        // What socket.io's RemoteSocket needs; Roomcast keeps no handshake copy.
        list.push_back(boost::json::object{
            {"id", socket.id},
            {"handshake", boost::json::object{{"headers", boost::json::object{}},
                                              {"query", boost::json::object{}},
                                              {"auth", boost::json::object{}},
                                              {"url", "/socket.io/"},
                                              {"xdomain", false},
                                              {"secure", false}}},
            {"rooms", boost::json::array(socket.rooms.begin(), socket.rooms.end())},
            {"data", boost::json::object{}}});
      }
      response["sockets"] = std::move(list);
      break;
    }
    case ClassicRequest::Kind::kSocketIds: {
      boost::json::array ids;
      for (const core::SocketSummary& socket : sockets) {
        ids.emplace_back(socket.id);
      }
      response["sockets"] = std::move(ids);
      break;
    }
    case ClassicRequest::Kind::kAllRooms: {
      std::set<std::string> rooms;
      for (const core::SocketSummary& socket : sockets) {
        rooms.insert(socket.rooms.begin(), socket.rooms.end());
      }
      response["rooms"] = boost::json::array(rooms.begin(), rooms.end());
      break;
    }
    case ClassicRequest::Kind::kCommand:
    case ClassicRequest::Kind::kIgnored:
      break;
  }
  return boost::json::serialize(response);
}

}  // namespace roomcast::broker
