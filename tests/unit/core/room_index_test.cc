#include "server/core/room_index.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/unit/core/fake_member.h"

namespace roomcast::core {
namespace {

std::vector<Member*> Sorted(std::vector<Member*> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class RoomIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (FakeMember& r : sockets_) {
      index_.AddMember("/", &r);
    }
    index_.Join("/", "red", &a());
    index_.Join("/", "red", &b());
    index_.Join("/", "blue", &b());
    index_.Join("/", "blue", &c());
  }
  FakeMember& a() { return sockets_[0]; }
  FakeMember& b() { return sockets_[1]; }
  FakeMember& c() { return sockets_[2]; }

  FakeMember sockets_[3];
  RoomIndex index_;
};

TEST_F(RoomIndexTest, SelectsOneRoom) {
  std::vector<std::string> rooms = {"red"};
  EXPECT_EQ(Sorted(index_.Select("/", rooms, {})), Sorted({&a(), &b()}));
}

TEST_F(RoomIndexTest, SelectsUnionOnceEach) {
  std::vector<std::string> rooms = {"red", "blue"};
  EXPECT_EQ(Sorted(index_.Select("/", rooms, {})), Sorted({&a(), &b(), &c()}));
}

TEST_F(RoomIndexTest, ExceptRemovesMembersOfThoseRooms) {
  std::vector<std::string> rooms = {"red"};
  std::vector<std::string> except = {"blue"};
  EXPECT_EQ(index_.Select("/", rooms, except), std::vector<Member*>{&a()});
}

TEST_F(RoomIndexTest, NoRoomsMeansTheWholeNamespace) {
  std::vector<std::string> except = {"red"};
  EXPECT_EQ(index_.Select("/", {}, {}).size(), 3u);
  EXPECT_EQ(index_.Select("/", {}, except), std::vector<Member*>{&c()});
  EXPECT_TRUE(index_.Select("/other", {}, {}).empty());
}

TEST_F(RoomIndexTest, LeaveAndRemoveDropEmptyRooms) {
  index_.Leave("/", "red", &a());
  EXPECT_EQ(index_.RoomSize("/", "red"), 1u);
  const std::vector<std::string> rooms_of_b = {"red", "blue"};
  index_.RemoveMember("/", &b(), rooms_of_b);
  EXPECT_EQ(index_.RoomSize("/", "red"), 0u);
  EXPECT_EQ(index_.RoomCount("/"), 1u);  // Only blue (with c) is left.
  EXPECT_EQ(index_.MemberCount("/"), 2u);
}

}  // namespace
}  // namespace roomcast::core
