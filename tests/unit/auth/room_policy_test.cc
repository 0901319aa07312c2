#include "server/auth/room_policy.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace roomcast::auth {
namespace {

boost::json::object Claims(const char* json) { return boost::json::parse(json).as_object(); }

TEST(RoomPolicyTest, DefaultAllowsOnlyTheUsersOwnRoom) {
  RoomPolicy policy;
  EXPECT_TRUE(policy.Allows("user:u1", Claims(R"({"sub":"u1"})")));
  EXPECT_FALSE(policy.Allows("user:u2", Claims(R"({"sub":"u1"})")));
  EXPECT_FALSE(policy.Allows("user:", Claims("{}")));
}

TEST(RoomPolicyTest, TokenRoomsClaimGrantsExactAndPrefixRooms) {
  RoomPolicy policy;
  auto claims = Claims(R"({"sub":"u1","rooms":["lobby","project:42:*"]})");
  EXPECT_TRUE(policy.Allows("lobby", claims));
  EXPECT_TRUE(policy.Allows("project:42:chat", claims));
  EXPECT_FALSE(policy.Allows("project:43:chat", claims));
  EXPECT_FALSE(policy.Allows("lobby2", claims));
}

TEST(RoomPolicyTest, FileTemplatesUseClaims) {
  auto policy = RoomPolicy::FromJson(R"({"allow":["org:{claims.org}:*","public:*","user:{sub}"]})");
  ASSERT_TRUE(policy.ok());
  auto claims = Claims(R"({"sub":"u1","org":"acme"})");
  EXPECT_TRUE(policy->Allows("org:acme:general", claims));
  EXPECT_FALSE(policy->Allows("org:other:general", claims));
  EXPECT_TRUE(policy->Allows("public:news", claims));
  EXPECT_FALSE(policy->Allows("org:acme:general", Claims(R"({"sub":"u1"})"))) << "no org claim";
}

TEST(RoomPolicyTest, RejectsMalformedFiles) {
  EXPECT_FALSE(RoomPolicy::FromJson("not json").ok());
  EXPECT_FALSE(RoomPolicy::FromJson(R"({"rooms":[]})").ok());
  EXPECT_FALSE(RoomPolicy::FromJson(R"({"allow":[1]})").ok());
}

}  // namespace
}  // namespace roomcast::auth
