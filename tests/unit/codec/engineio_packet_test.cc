#include "server/codec/engineio_packet.h"

#include <gtest/gtest.h>

namespace roomcast::engineio {
namespace {

TEST(EnginePacketTest, DecodesEveryTextType) {
  for (char type = '0'; type <= '6'; ++type) {
    auto packet = DecodeTextPacket(std::string(1, type) + "data");
    ASSERT_TRUE(packet.ok()) << type;
    EXPECT_EQ(static_cast<char>(packet->type), type);
    EXPECT_EQ(packet->data, "data");
    EXPECT_FALSE(packet->binary);
  }
}

TEST(EnginePacketTest, RejectsUnknownTypeAndEmpty) {
  EXPECT_FALSE(DecodeTextPacket("abc").ok());
  EXPECT_FALSE(DecodeTextPacket("7").ok());
  EXPECT_FALSE(DecodeTextPacket("").ok());
}

TEST(EnginePacketTest, PayloadRoundTripsTextAndBinary) {
  std::string payload;
  AppendToPayload(payload, "4hello", false);
  AppendToPayload(payload, std::string("\x01\x02\x03\x04", 4), true);
  AppendToPayload(payload, "2", false);
  EXPECT_EQ(payload,
            "4hello\x1e"
            "bAQIDBA==\x1e"
            "2");

  auto packets = DecodePayload(payload);
  ASSERT_TRUE(packets.ok());
  ASSERT_EQ(packets->size(), 3u);
  EXPECT_EQ((*packets)[0], (Packet{PacketType::kMessage, "hello", false}));
  EXPECT_EQ((*packets)[1],
            (Packet{PacketType::kMessage, std::string("\x01\x02\x03\x04", 4), true}));
  EXPECT_EQ((*packets)[2], (Packet{PacketType::kPing, "", false}));
}

TEST(EnginePacketTest, PayloadWithBadPacketOrBase64Fails) {
  EXPECT_FALSE(DecodePayload("4ok\x1e"
                             "abc")
                   .ok());
  EXPECT_FALSE(DecodePayload("b!!!").ok());
  EXPECT_FALSE(DecodePayload("4a\x1e\x1e"
                             "4b")
                   .ok());  // An empty packet between separators.
}

TEST(EnginePacketTest, EncodesTextPacket) {
  EXPECT_EQ(EncodeTextPacket(PacketType::kPong, "probe"), "3probe");
  EXPECT_EQ(EncodeTextPacket(PacketType::kNoop), "6");
}

}  // namespace
}  // namespace roomcast::engineio
