#include "server/codec/socketio_packet.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace roomcast::socketio {
namespace {

namespace json = boost::json;

Packet Decode(std::string_view text) {
  auto decoded = DecodeText(text);
  EXPECT_TRUE(decoded.ok()) << text << ": " << decoded.status();
  return decoded.ok() ? decoded->packet : Packet{};
}

TEST(SocketPacketTest, DecodesConnectWithNamespaceAndAuth) {
  Packet packet = Decode(R"(0/admin,{"token":"123"})");
  EXPECT_EQ(packet.type, PacketType::kConnect);
  EXPECT_EQ(packet.nsp, "/admin");
  EXPECT_EQ(json::serialize(*packet.data), R"({"token":"123"})");
}

TEST(SocketPacketTest, AcceptsNamespaceWithoutTrailingComma) {
  EXPECT_EQ(Decode("0/custom").nsp, "/custom");
  EXPECT_EQ(Decode("1/custom").type, PacketType::kDisconnect);
  EXPECT_EQ(Decode("0").nsp, "/");
}

TEST(SocketPacketTest, DecodesEventWithAckId) {
  Packet packet = Decode(R"(2/admin,12["foo",1])");
  EXPECT_EQ(packet.type, PacketType::kEvent);
  EXPECT_EQ(packet.nsp, "/admin");
  EXPECT_EQ(packet.id, 12u);
  EXPECT_EQ(json::serialize(*packet.data), R"(["foo",1])");
}

TEST(SocketPacketTest, EncodesLikeTheReference) {
  Packet packet;
  packet.type = PacketType::kAck;
  packet.nsp = "/admin";
  packet.id = 13;
  packet.data = json::array{"bar"};
  EXPECT_EQ(EncodeText(packet), R"(3/admin,13["bar"])");

  packet.type = PacketType::kBinaryEvent;
  packet.nsp = "/";
  packet.id.reset();
  packet.data = json::parse(R"(["baz",{"_placeholder":true,"num":0}])");
  packet.attachments = {"\x01\x02"};
  EXPECT_EQ(EncodeText(packet), R"(51-["baz",{"_placeholder":true,"num":0}])");
}

TEST(SocketPacketTest, RejectsWhatTheReferenceDecoderRejects) {
  for (std::string_view bad : {
           "",                                              // empty
           "7",                                             // unknown type
           "2abc[\"x\"]",                                   // JSON that does not parse
           "0\"not an object\"",                            // CONNECT payload not an object
           "1{}",                                           // DISCONNECT with payload
           "2{}",                                           // EVENT payload not an array
           "2[]",                                           // EVENT payload empty
           "2[{}]",                                         // event name not string/number
           "2[\"connect\"]",                                // reserved name
           "2[\"disconnecting\",1]",                        // reserved name
           "3{}",                                           // ACK payload not an array
           "5[\"x\"]",                                      // BINARY_EVENT without count
           "511-[\"x\"]",                                   // more than 10 attachments
           "51-[\"x\",{\"_placeholder\":true,\"num\":1}]",  // placeholder past the end
       }) {
    EXPECT_FALSE(DecodeText(bad).ok()) << bad;
  }
}

TEST(SocketPacketTest, AcceptsNumericEventNames) { EXPECT_TRUE(DecodeText("2[1,2]").ok()); }

TEST(DecoderTest, ReassemblesBinaryEvents) {
  Decoder decoder;
  auto first =
      decoder.OnText(R"(52-["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());
  auto second = decoder.OnBinary("one");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  auto done = decoder.OnBinary("two");
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE(done->has_value());
  EXPECT_EQ((*done)->attachments, (std::vector<std::string>{"one", "two"}));
  // Ready for the next packet.
  auto next = decoder.OnText(R"(2["x"])");
  ASSERT_TRUE(next.ok() && next->has_value());
}

TEST(DecoderTest, RejectsBinaryWithoutPacketAndTextWhileWaiting) {
  Decoder decoder;
  EXPECT_FALSE(decoder.OnBinary("stray").ok());
  ASSERT_TRUE(decoder.OnText(R"(51-["bin",{"_placeholder":true,"num":0}])").ok());
  EXPECT_FALSE(decoder.OnText(R"(2["x"])").ok());
}

TEST(EventArrayJsonTest, EscapesTheNameAndKeepsArgs) {
  EXPECT_EQ(EventArrayJson("say \"hi\"", R"({"a":1})"), R"(["say \"hi\"",{"a":1}])");
  EXPECT_EQ(EventArrayJson("ping", ""), R"(["ping"])");
}

TEST(RecoveryOffsetTest, GoesLastInTheEventArrayAndParsesBack) {
  const std::string offset = RecoveryOffset("Gq3v_-x", 42);
  EXPECT_EQ(WithOffsetArgument(EncodeEventMessage("/", "tick", "", 0), offset),
            R"(42["tick","Gq3v_-x:42"])");
  EXPECT_EQ(WithOffsetArgument(EncodeEventMessage("/chat", "m", R"({"a":1})", 1), offset),
            R"(451-/chat,["m",{"a":1},"Gq3v_-x:42"])");
  std::string epoch;
  uint64_t position = 0;
  ASSERT_TRUE(ParseRecoveryOffset(offset, epoch, position));
  EXPECT_EQ(epoch, "Gq3v_-x");
  EXPECT_EQ(position, 42u);
  for (const char* bad : {"", "alice", "epoch:", "epoch:x1", "epoch:-1", ":"}) {
    EXPECT_FALSE(ParseRecoveryOffset(bad, epoch, position)) << bad;
  }
}

}  // namespace
}  // namespace roomcast::socketio
