#include "server/net/address_range.h"

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

boost::asio::ip::address Ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(AddressRangeTest, AnAddressOrABlock) {
  const auto one = AddressRange::Parse("192.0.2.7");
  ASSERT_TRUE(one.has_value());
  EXPECT_TRUE(one->Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(one->Contains(Ip("192.0.2.8")));
  const auto block = AddressRange::Parse("10.0.0.0/8");
  ASSERT_TRUE(block.has_value());
  EXPECT_TRUE(block->Contains(Ip("10.255.0.1")));
  EXPECT_FALSE(block->Contains(Ip("11.0.0.1")));
  // A host inside the block is taken as its block, as nginx does.
  EXPECT_TRUE(AddressRange::Parse("10.1.2.3/16")->Contains(Ip("10.1.200.200")));
  const auto v6 = AddressRange::Parse("2001:db8::/32");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->Contains(Ip("2001:db9::1")));
  EXPECT_FALSE(v6->Contains(Ip("10.0.0.1")));
}

TEST(AddressRangeTest, IPv4MappedAddressesAreTheirIPv4Address) {
  EXPECT_TRUE(AddressRange::Parse("10.0.0.0/8")->Contains(Ip("::ffff:10.1.1.1")));
  EXPECT_TRUE(AddressRange::Parse("::ffff:127.0.0.1")->Contains(Ip("127.0.0.1")));
  EXPECT_EQ(Unmapped(Ip("::ffff:192.0.2.1")), Ip("192.0.2.1"));
  EXPECT_EQ(Unmapped(Ip("::1")), Ip("::1"));
}

TEST(AddressRangeTest, RefusesWhatIsNeither) {
  for (const char* bad : {"", "localhost", "10.0.0.0/33", "10.0.0/8", "fd00::/129", "1.2.3.4/x"}) {
    EXPECT_FALSE(AddressRange::Parse(bad).has_value()) << bad;
  }
}

TEST(AddressRangeTest, PrivateAddressesAreWhereProxiesLive) {
  for (const char* inside : {"127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255",
                             "192.168.0.1", "100.64.0.1", "100.127.255.255", "169.254.1.1", "::1",
                             "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:192.168.1.1"}) {
    EXPECT_TRUE(IsPrivateAddress(Ip(inside))) << inside;
  }
  for (const char* outside : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "192.0.2.1", "203.0.113.9",
                              "2001:db8::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(IsPrivateAddress(Ip(outside))) << outside;
  }
}

}  // namespace
}  // namespace roomcast::net
