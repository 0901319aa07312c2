#include "server/net/unattached_connections.h"

#include <vector>

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

boost::asio::ip::address Ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(UnattachedConnectionsTest, CapsPerPublicAddressAndGivesBackOnRelease) {
  base::Counters counters;
  UnattachedConnections unattached({.max_total = 100, .max_per_ip = 2}, counters);
  auto a = unattached.Acquire(Ip("203.0.113.1"));
  auto b = unattached.Acquire(Ip("::ffff:203.0.113.1"));  // The same client, mapped.
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(unattached.Acquire(Ip("203.0.113.1")), nullptr);
  EXPECT_EQ(counters.unattached_refused_per_ip.load(), 1u);
  EXPECT_NE(unattached.Acquire(Ip("203.0.113.2")), nullptr);
  EXPECT_EQ(counters.unattached.load(), 2u) << "the refused and the released are not counted";
  a.reset();
  EXPECT_EQ(counters.unattached.load(), 1u);
  EXPECT_NE(unattached.Acquire(Ip("203.0.113.1")), nullptr);
}

TEST(UnattachedConnectionsTest, PrivatePeersOnlyMeetTheOverallCap) {
  base::Counters counters;
  UnattachedConnections unattached({.max_total = 5, .max_per_ip = 1}, counters);
  std::vector<std::unique_ptr<UnattachedConnections::Slot>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(unattached.Acquire(Ip("10.0.0.1")));
    ASSERT_NE(held.back(), nullptr) << i;
  }
  EXPECT_EQ(unattached.Acquire(Ip("10.0.0.1")), nullptr);
  EXPECT_EQ(unattached.Acquire(Ip("203.0.113.1")), nullptr) << "the overall cap is for everyone";
  EXPECT_EQ(counters.unattached_refused.load(), 2u);
}

TEST(UnattachedConnectionsTest, ABudgetIsWhatTheSessionsLeave) {
  base::Counters counters;
  UnattachedConnections unattached({.budget = 10}, counters);
  counters.sessions_opened = 12;
  counters.sessions_closed = 4;  // 8 sessions open: room for 2.
  auto a = unattached.Acquire(Ip("10.0.0.1"));
  auto b = unattached.Acquire(Ip("10.0.0.2"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(unattached.Acquire(Ip("10.0.0.3")), nullptr);
  counters.sessions_closed = 12;  // A restart's worth of room.
  for (int i = 0; i < 8; ++i) {
    EXPECT_NE(unattached.Acquire(Ip("10.0.0.4")), nullptr) << i;  // Each released at once.
  }
}

TEST(UnattachedConnectionsTest, LimitPrivateAddressesCapsThemPerAddressToo) {
  base::Counters counters;
  UnattachedConnections unattached({.max_per_ip = 1, .limit_private_addresses = true}, counters);
  auto first = unattached.Acquire(Ip("127.0.0.1"));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(unattached.Acquire(Ip("127.0.0.1")), nullptr);
  EXPECT_NE(unattached.Acquire(Ip("::1")), nullptr);
}

}  // namespace
}  // namespace roomcast::net
