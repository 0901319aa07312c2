#include "server/control/admin_messages.h"

#include <boost/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "server/codec/socketio_packet.h"

namespace roomcast::control {

boost::json::object SerializeSocket(const socketio::Socket& socket) {
  const socketio::Handshake& handshake = socket.handshake();
  boost::json::object headers;
  if (!handshake.user_agent.empty()) {
    headers["user-agent"] = handshake.user_agent;
  }
  boost::json::array rooms;
  for (const std::string& room : socket.rooms()) {
    rooms.emplace_back(room);
  }
  const std::string_view sid = socket.link().session_id();
  boost::json::object data;
  if (socket.authenticated()) {
    data["userId"] = socket.user_id();
  }
  return boost::json::object{
      {"id", socket.id()},
      // The Node server shows the Engine.IO id's first 12 characters.
      {"clientId", sid.substr(0, 12)},
      {"transport", socket.link().transport_name()},
      {"nsp", socket.nsp()},
      {"data", std::move(data)},
      {"handshake",
       {{"address", handshake.address},
        {"headers", std::move(headers)},
        {"query", boost::json::object()},
        {"issued", handshake.issued_ms},
        {"secure", false},
        {"time", handshake.issued_ms == 0 ? std::string() : IsoTime(handshake.issued_ms)},
        {"url", handshake.url},
        {"xdomain", false}}},
      {"rooms", std::move(rooms)},
  };
}

TrafficTotals Difference(const TrafficTotals& now, const TrafficTotals& before) {
  auto minus = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  return TrafficTotals{
      minus(now.connections, before.connections), minus(now.disconnections, before.disconnections),
      minus(now.packets_in, before.packets_in),   minus(now.packets_out, before.packets_out),
      minus(now.bytes_in, before.bytes_in),       minus(now.bytes_out, before.bytes_out)};
}

boost::json::object ServerStatsJson(const ServerStats& stats) {
  boost::json::array events;
  const TrafficTotals& t = stats.since_last;
  const std::pair<std::string_view, uint64_t> counts[] = {
      {"rawConnection", t.connections}, {"rawDisconnection", t.disconnections},
      {"packetsIn", t.packets_in},      {"packetsOut", t.packets_out},
      {"bytesIn", t.bytes_in},          {"bytesOut", t.bytes_out}};
  // Whole seconds, as the Node server buckets them.
  const int64_t timestamp = stats.timestamp_ms - stats.timestamp_ms % 1000;
  for (const auto& [type, count] : counts) {
    if (count > 0) {
      events.push_back(
          boost::json::object{{"timestamp", timestamp}, {"type", type}, {"count", count}});
    }
  }
  boost::json::array namespaces;
  for (const auto& [name, sockets] : stats.namespaces) {
    namespaces.push_back(boost::json::object{{"name", name}, {"socketsCount", sockets}});
  }
  return boost::json::object{{"serverId", stats.server_id},
                             {"hostname", stats.hostname},
                             {"pid", stats.pid},
                             {"uptime", stats.uptime_s},
                             {"clientsCount", stats.clients},
                             {"pollingClientsCount", stats.polling_clients},
                             {"aggregatedEvents", std::move(events)},
                             {"namespaces", std::move(namespaces)}};
}

boost::json::object ConfigJson(bool all_events) {
  // Roomcast's control plane acts on sockets by id or by room, cluster-wide:
  // the multi-socket forms (MJOIN, MLEAVE, MDISCONNECT) are the same calls.
  boost::json::array features{"EMIT",  "JOIN",   "LEAVE",       "DISCONNECT",
                              "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"};
  if (all_events) {
    features.emplace_back("ALL_EVENTS");
  }
  return boost::json::object{{"supportedFeatures", std::move(features)}};
}

std::optional<boost::json::array> EventOfMessage(std::string_view message) {
  if (message.starts_with('4')) {
    message.remove_prefix(1);  // Engine.IO's message type.
  }
  absl::StatusOr<socketio::DecodedText> decoded = socketio::DecodeText(message);
  if (!decoded.ok() || (decoded->packet.type != socketio::PacketType::kEvent &&
                        decoded->packet.type != socketio::PacketType::kBinaryEvent)) {
    return std::nullopt;
  }
  if (!decoded->packet.data || !decoded->packet.data->is_array()) {
    return std::nullopt;
  }
  return std::move(decoded->packet.data->as_array());
}

core::SharedPacket AdminPacket(std::string_view event, const boost::json::array& args) {
  std::string args_json;
  for (const boost::json::value& arg : args) {
    if (!args_json.empty()) {
      args_json += ',';
    }
    args_json += boost::json::serialize(arg);
  }
  return core::MakePacket(socketio::EncodeEventMessage(kAdminNamespace, event, args_json, 0));
}

std::string IsoTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

}  // namespace roomcast::control
