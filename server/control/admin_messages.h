#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "server/core/encoded_packet.h"
#include "server/socketio/socket.h"

namespace roomcast::control {

// The messages of the Socket.IO Admin UI's protocol (@socket.io/admin-ui
// 0.5.x, lib/typed-events.ts), as Roomcast builds them.

inline constexpr std::string_view kAdminNamespace = "/admin";

// A socket as `all_sockets` and `socket_connected` describe it.
boost::json::object SerializeSocket(const socketio::Socket& socket);

// Engine.IO traffic totals; the difference of two is what `server_stats`
// reports as aggregated events.
struct TrafficTotals {
  uint64_t connections = 0;
  uint64_t disconnections = 0;
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

struct ServerStats {
  std::string server_id;
  std::string hostname;
  int64_t pid = 0;
  double uptime_s = 0;
  uint64_t clients = 0;
  uint64_t polling_clients = 0;
  std::vector<std::pair<std::string, uint64_t>> namespaces;  // Name, sockets.
  int64_t timestamp_ms = 0;  // Of the aggregated events (the UI buckets by it).
  TrafficTotals since_last;  // What happened since the previous report.
};

// `{serverId, hostname, pid, uptime, clientsCount, pollingClientsCount,
// aggregatedEvents, namespaces}`; events with a zero count are left out.
boost::json::object ServerStatsJson(const ServerStats& stats);
TrafficTotals Difference(const TrafficTotals& now, const TrafficTotals& before);

// `{supportedFeatures}`.
boost::json::object ConfigJson(bool all_events);

// The `[event, args...]` of an encoded EVENT message (`42/nsp,7["e",1]`,
// with or without its Engine.IO `4`); nothing for another packet or bad JSON.
std::optional<boost::json::array> EventOfMessage(std::string_view message);

// The Engine.IO message carrying `event(args...)` to the admin namespace.
core::SharedPacket AdminPacket(std::string_view event, const boost::json::array& args);

// A Date as the UI reads it (JSON of a JavaScript Date: ISO 8601 in UTC).
std::string IsoTime(int64_t unix_ms);

}  // namespace roomcast::control
