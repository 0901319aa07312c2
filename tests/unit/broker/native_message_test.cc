#include "server/broker/native_message.h"

#include <gtest/gtest.h>

#include "server/broker/msgpack.h"

namespace roomcast::broker {
namespace {

// What the publish script sends: the position, then the node's body.
std::string Published(uint64_t offset, std::string_view epoch, std::string body) {
  MsgpackWriter position;
  position.Uint(offset);
  position.Str(epoch);
  return position.bytes() + body;
}

TEST(NativeMessageTest, RoundTripsAnEventWithItsPosition) {
  core::Event event;
  event.nsp = "/chat";
  event.rooms = {"a", "b"};
  event.except = {"vip"};
  event.packet = core::MakePacket(R"(451-/chat,["file",{"_placeholder":true,"num":0}])",
                                  {std::string("\0\xff", 2)}, /*is_volatile=*/true);
  absl::StatusOr<std::optional<NativeMessage>> decoded =
      DecodeNativeMessage(Published(42, "epoch-1", EncodeNativeBody("node-a", event)), "node-b");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->has_value());
  const std::optional<NativeMessage>& message = *decoded;
  EXPECT_EQ(message->origin, "node-a");
  EXPECT_EQ(message->event.nsp, "/chat");
  EXPECT_EQ(message->event.rooms, event.rooms);
  EXPECT_EQ(message->event.except, event.except);
  EXPECT_EQ(message->event.position.offset, 42u);
  EXPECT_EQ(message->event.position.epoch, "epoch-1");
  EXPECT_EQ(message->event.packet->text, event.packet->text);
  EXPECT_EQ(message->event.packet->attachments, event.packet->attachments);
  EXPECT_TRUE(message->event.packet->is_volatile);
}

TEST(NativeMessageTest, ANodesOwnMessageIsReadNoFurtherThanItsOrigin) {
  core::Event event;
  event.nsp = "/";
  event.packet = core::MakePacket(R"(42["x"])");
  absl::StatusOr<std::optional<NativeMessage>> own =
      DecodeNativeMessage(Published(1, "e", EncodeNativeBody("node-a", event)), "node-a");
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(own->has_value());
}

TEST(NativeMessageTest, RefusesAnythingElse) {
  core::Event event;
  event.nsp = "/";
  event.packet = core::MakePacket(R"(42["x"])");
  const std::string body = EncodeNativeBody("node-a", event);
  EXPECT_FALSE(DecodeNativeMessage("").ok());
  EXPECT_FALSE(DecodeNativeMessage(body).ok()) << "no position";
  const std::string whole = Published(1, "e", body);
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    EXPECT_FALSE(DecodeNativeMessage(whole.substr(0, cut)).ok()) << "truncated at " << cut;
  }
  EXPECT_TRUE(DecodeNativeMessage(whole).ok());
}

TEST(NativeMessageTest, ACountLargerThanTheBytesLeftIsRefusedNotAllocated) {
  // Found by the fuzzer: an array32 header claiming ~3.7 billion items.
  std::string body = "\x98\xa3rc1\xa1n\xa1/\x90\x90\xc2\xa0\xdd\xdd\xdd\xdd\xdd";
  EXPECT_FALSE(DecodeNativeMessage(Published(1, "e", body)).ok());
}

}  // namespace
}  // namespace roomcast::broker
