#include "server/net/cors.h"

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

TEST(CorsPolicyTest, ListAllowsOnlyItsOriginsAndNonBrowsers) {
  CorsPolicy policy = CorsPolicy::Parse("https://a.example, https://b.example/");
  EXPECT_TRUE(policy.Allows("https://a.example"));
  EXPECT_TRUE(policy.Allows("https://b.example"));
  EXPECT_FALSE(policy.Allows("https://evil.example"));
  EXPECT_TRUE(policy.Allows(std::nullopt));
  EXPECT_EQ(policy.AllowOriginHeader("https://a.example"), "https://a.example");
  EXPECT_TRUE(policy.allow_credentials());
}

TEST(CorsPolicyTest, StarIsAWildcardWithoutCredentials) {
  CorsPolicy policy = CorsPolicy::Parse("*");
  EXPECT_TRUE(policy.Allows("https://anything.example"));
  EXPECT_EQ(policy.AllowOriginHeader("https://anything.example"), "*");
  EXPECT_FALSE(policy.allow_credentials());
}

TEST(CorsPolicyTest, ReflectAnyEchoesTheOrigin) {
  CorsPolicy policy = CorsPolicy::ReflectAny();
  EXPECT_TRUE(policy.Allows("http://localhost:3000"));
  EXPECT_EQ(policy.AllowOriginHeader("http://localhost:3000"), "http://localhost:3000");
  EXPECT_TRUE(policy.allow_credentials());
}

TEST(CorsPolicyTest, EmptyListAllowsNoBrowser) {
  CorsPolicy policy = CorsPolicy::Only({});
  EXPECT_FALSE(policy.Allows("http://localhost:3000"));
  EXPECT_TRUE(policy.Allows(std::nullopt));
}

}  // namespace
}  // namespace roomcast::net
