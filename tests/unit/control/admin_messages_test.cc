#include "server/control/admin_messages.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace roomcast::control {
namespace {

TEST(AdminMessagesTest, ServerStatsCarryTheNodeAndTheTrafficSinceLastTime) {
  ServerStats stats;
  stats.server_id = "node-a";
  stats.hostname = "host";
  stats.pid = 42;
  stats.uptime_s = 1.5;
  stats.clients = 3;
  stats.polling_clients = 1;
  stats.namespaces = {{"/", 2}, {"/admin", 1}};
  stats.timestamp_ms = 1700000000123;
  stats.since_last =
      Difference(TrafficTotals{5, 2, 10, 20, 100, 200}, TrafficTotals{4, 2, 7, 20, 90, 150});
  const boost::json::value json = ServerStatsJson(stats);
  EXPECT_EQ(json, boost::json::parse(R"({
    "serverId":"node-a","hostname":"host","pid":42,"uptime":1.5,"clientsCount":3,
    "pollingClientsCount":1,
    "aggregatedEvents":[
      {"timestamp":1700000000000,"type":"rawConnection","count":1},
      {"timestamp":1700000000000,"type":"packetsIn","count":3},
      {"timestamp":1700000000000,"type":"bytesIn","count":10},
      {"timestamp":1700000000000,"type":"bytesOut","count":50}],
    "namespaces":[{"name":"/","socketsCount":2},{"name":"/admin","socketsCount":1}]})"));
}

TEST(AdminMessagesTest, CountersThatWentBackReportNothing) {
  const TrafficTotals diff =
      Difference(TrafficTotals{1, 1, 1, 1, 1, 1}, TrafficTotals{2, 2, 2, 2, 2, 2});
  EXPECT_EQ(diff.connections + diff.disconnections + diff.packets_in + diff.packets_out +
                diff.bytes_in + diff.bytes_out,
            0u);
}

TEST(AdminMessagesTest, ConfigListsWhatRoomcastDoes) {
  const boost::json::array features = ConfigJson(true).at("supportedFeatures").as_array();
  for (const char* feature : {"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE",
                              "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}) {
    EXPECT_NE(std::find(features.begin(), features.end(), boost::json::value(feature)),
              features.end())
        << feature;
  }
  const boost::json::array quiet = ConfigJson(false).at("supportedFeatures").as_array();
  EXPECT_EQ(std::find(quiet.begin(), quiet.end(), boost::json::value("ALL_EVENTS")), quiet.end());
}

TEST(AdminMessagesTest, EventOfMessageReadsEventsOnly) {
  EXPECT_EQ(*EventOfMessage(R"(42["news",{"a":1}])"), boost::json::parse(R"(["news",{"a":1}])"));
  EXPECT_EQ(*EventOfMessage(R"(2/chat,7["ping"])"), boost::json::parse(R"(["ping"])"));
  EXPECT_FALSE(EventOfMessage(R"(43[1])").has_value());  // An ack.
  EXPECT_FALSE(EventOfMessage(R"(40{"sid":"x"})").has_value());
  EXPECT_FALSE(EventOfMessage(R"(42["news",)").has_value());  // Cut short.
  EXPECT_FALSE(EventOfMessage("").has_value());
}

TEST(AdminMessagesTest, AdminPacketIsAnEventToTheAdminNamespace) {
  const core::SharedPacket packet = AdminPacket(
      "room_joined", boost::json::array{"/", "lobby", "abc", "2026-01-01T00:00:00.000Z"});
  EXPECT_EQ(packet->text,
            R"(42/admin,["room_joined","/","lobby","abc","2026-01-01T00:00:00.000Z"])");
  EXPECT_EQ(AdminPacket("config", boost::json::array{})->text, R"(42/admin,["config"])");
}

TEST(AdminMessagesTest, IsoTimeIsAJavaScriptDate) {
  EXPECT_EQ(IsoTime(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace roomcast::control
