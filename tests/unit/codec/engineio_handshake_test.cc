#include "server/codec/engineio_handshake.h"

#include <gtest/gtest.h>

namespace roomcast::engineio {
namespace {

RequestFacts Get(std::optional<std::string_view> eio, std::optional<std::string_view> transport,
                 std::optional<std::string_view> sid = std::nullopt) {
  RequestFacts facts;
  facts.method = "GET";
  facts.eio = eio;
  facts.transport = transport;
  facts.sid = sid;
  return facts;
}

TEST(VerifyRequestTest, AcceptsPollingHandshake) {
  VerifyResult result = VerifyRequest(Get("4", "polling"));
  ASSERT_EQ(result.error, nullptr);
  EXPECT_EQ(result.target.transport, Transport::kPolling);
  EXPECT_TRUE(result.target.sid.empty());
}

TEST(VerifyRequestTest, RejectsMissingOrOldProtocolVersion) {
  EXPECT_EQ(VerifyRequest(Get(std::nullopt, "polling")).error, &kUnsupportedProtocolVersion);
  EXPECT_EQ(VerifyRequest(Get("3", "polling")).error, &kUnsupportedProtocolVersion);
  EXPECT_EQ(VerifyRequest(Get("abc", "polling")).error, &kUnsupportedProtocolVersion);
}

TEST(VerifyRequestTest, RejectsUnknownTransport) {
  EXPECT_EQ(VerifyRequest(Get("4", std::nullopt)).error, &kTransportUnknown);
  EXPECT_EQ(VerifyRequest(Get("4", "flash")).error, &kTransportUnknown);
}

TEST(VerifyRequestTest, NewSessionMustBeGet) {
  RequestFacts facts = Get("4", "polling");
  facts.method = "POST";
  EXPECT_EQ(VerifyRequest(facts).error, &kBadHandshakeMethod);
  facts.sid = "abc";
  EXPECT_EQ(VerifyRequest(facts).error, nullptr);
}

TEST(VerifyRequestTest, WebSocketTransportNeedsAnUpgradeRequest) {
  EXPECT_EQ(VerifyRequest(Get("4", "websocket")).error, &kBadRequest);
  RequestFacts facts = Get("4", "websocket", "sid1");
  facts.websocket_upgrade = true;
  VerifyResult result = VerifyRequest(facts);
  ASSERT_EQ(result.error, nullptr);
  EXPECT_EQ(result.target.transport, Transport::kWebSocket);
  EXPECT_EQ(result.target.sid, "sid1");
}

TEST(OpenPacketTest, ListsUpgradesOnlyForPolling) {
  ServerOptions options;
  options.ping_interval = std::chrono::milliseconds(300);
  options.ping_timeout = std::chrono::milliseconds(200);
  EXPECT_EQ(
      OpenPacket("abc", Transport::kPolling, options),
      R"(0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})");
  EXPECT_EQ(
      OpenPacket("abc", Transport::kWebSocket, options),
      R"(0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})");
}

TEST(ErrorBodyTest, IsTheReferenceJson) {
  EXPECT_EQ(ErrorBody(kSessionIdUnknown), R"({"code":1,"message":"Session ID unknown"})");
  EXPECT_EQ(kForbidden.http_status, 403);
}

}  // namespace
}  // namespace roomcast::engineio
