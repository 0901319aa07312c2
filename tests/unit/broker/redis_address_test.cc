#include "server/broker/redis_address.h"

#include <gtest/gtest.h>

namespace roomcast::broker {
namespace {

TEST(RedisAddressTest, ParsesTheUrlShapesUsersHave) {
  auto plain = ParseRedisUrl("redis://127.0.0.1:6390");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 6390);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->db, 0);

  auto acl = ParseRedisUrl("rediss://app:p%40ss@cache.internal/3");
  ASSERT_TRUE(acl.ok());
  EXPECT_TRUE(acl->tls);
  EXPECT_EQ(acl->port, 6379);
  EXPECT_EQ(acl->user, "app");
  EXPECT_EQ(acl->password, "p@ss");
  EXPECT_EQ(acl->db, 3);
  EXPECT_EQ(acl->Describe(), "cache.internal:6379") << "never the password";

  auto password_only = ParseRedisUrl("redis://:secret@[::1]:7000");
  ASSERT_TRUE(password_only.ok());
  EXPECT_EQ(password_only->host, "::1");
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "secret");
  EXPECT_EQ(password_only->Describe(), "[::1]:7000");
}

TEST(RedisAddressTest, RefusesWithAReason) {
  EXPECT_EQ(ParseRedisUrl("http://localhost").status().message(),
            "scheme 'http' is not redis:// or rediss://");
  EXPECT_FALSE(ParseRedisUrl("redis://").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://host:99999").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://host/db").ok());
  EXPECT_FALSE(ParseRedisUrl("not a url").ok());
}

}  // namespace
}  // namespace roomcast::broker
