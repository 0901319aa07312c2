#include "server/broker/redis_keys.h"

#include <gtest/gtest.h>

namespace roomcast::broker {
namespace {

TEST(RedisKeysTest, RoomcastNamesCarryTheNamespaceAsAHashTag) {
  RedisKeys keys("socket.io");
  EXPECT_EQ(keys.Room("/chat", "lobby"), "socket.io:rc:{/chat}:room:lobby");
  EXPECT_EQ(keys.Namespace("/chat"), "socket.io:rc:{/chat}:all");
  EXPECT_EQ(keys.Log("/chat"), "socket.io:rc:{/chat}:log");
  EXPECT_EQ(keys.LogMeta("/chat"), "socket.io:rc:{/chat}:log-meta");
  EXPECT_EQ(keys.Idempotency("/", "k"), "socket.io:rc:{/}:idem:k");
}

TEST(RedisKeysTest, ClassicChannelsAreSocketIos) {
  RedisKeys keys("socket.io");
  EXPECT_EQ(keys.ClassicNamespace("/"), "socket.io#/#");
  EXPECT_EQ(keys.ClassicRoom("/", "room1"), "socket.io#/#room1#");
  EXPECT_EQ(keys.ClassicRequest("/chat"), "socket.io-request#/chat#");
}

TEST(RedisKeysTest, ParsesItsOwnChannels) {
  RedisKeys keys("app");
  auto room = keys.ParseChannel(keys.Room("/", "a}:room:b"));
  ASSERT_TRUE(room.has_value());
  EXPECT_EQ(room->nsp, "/");
  EXPECT_EQ(room->room, "a}:room:b") << "a room name may contain anything";
  auto all = keys.ParseChannel(keys.Namespace("/chat"));
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->nsp, "/chat");
  EXPECT_FALSE(all->room.has_value());
  EXPECT_FALSE(keys.ParseChannel("socket.io:rc:{/}:all").has_value()) << "another prefix";
  EXPECT_FALSE(keys.ParseChannel(keys.ClassicRoom("/", "x")).has_value());
}

TEST(RedisKeysTest, FindsTheNamespaceOfAClassicRequestChannel) {
  RedisKeys keys("socket.io");
  EXPECT_EQ(keys.ClassicRequestNamespace(keys.ClassicRequest("/chat")), "/chat");
  EXPECT_EQ(keys.ClassicRequestNamespace("socket.io-request#/#"), "/");
  EXPECT_FALSE(keys.ClassicRequestNamespace("socket.io-request#/").has_value()) << "no closing #";
  EXPECT_FALSE(keys.ClassicRequestNamespace("socket.io#/#").has_value());
  EXPECT_FALSE(keys.ClassicRequestNamespace("other-request#/#").has_value());
}

}  // namespace
}  // namespace roomcast::broker
