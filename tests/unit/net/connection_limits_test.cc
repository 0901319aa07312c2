#include "server/net/connection_limits.h"

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

boost::asio::ip::address Ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(ConnectionLimitsTest, CapsPerAddressAndReleasesOnDestruction) {
  base::Counters counters;
  ConnectionLimits limits({.max_connections = 10, .max_connections_per_ip = 2}, counters);
  auto a = limits.Admit("203.0.113.1");
  auto b = limits.Admit("203.0.113.1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(limits.Admit("203.0.113.1").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limits.Admit("203.0.113.2").ok());
  a->reset();
  EXPECT_TRUE(limits.Admit("203.0.113.1").ok());
  EXPECT_EQ(counters.connections_refused.load(), 1u);
}

TEST(ConnectionLimitsTest, GlobalCap) {
  base::Counters counters;
  ConnectionLimits limits({.max_connections = 1}, counters);
  auto first = limits.Admit("a");
  EXPECT_TRUE(first.ok());
  EXPECT_FALSE(limits.Admit("b").ok());
}

TEST(ConnectionLimitsTest, ForwardedForOnlyFromTrustedProxies) {
  base::Counters counters;
  ConnectionLimits limits({.trusted_proxies = {*AddressRange::Parse("127.0.0.1")}}, counters);
  EXPECT_EQ(limits.ClientAddress(Ip("127.0.0.1"), "203.0.113.9, 127.0.0.1"), "203.0.113.9");
  EXPECT_EQ(limits.ClientAddress(Ip("::ffff:127.0.0.1"), "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(limits.ClientAddress(Ip("198.51.100.7"), "203.0.113.9"), "198.51.100.7")
      << "an untrusted peer cannot claim another address";
  EXPECT_EQ(limits.ClientAddress(Ip("127.0.0.1"), std::nullopt), "127.0.0.1");
}

TEST(ConnectionLimitsTest, HandshakeRatePerAddress) {
  base::Counters counters;
  ConnectionLimits limits({.handshakes_per_ip_per_s = 1}, counters);  // Burst of 4.
  std::vector<std::unique_ptr<ConnectionLimits::Admission>> admitted;
  for (int i = 0; i < 4; ++i) {
    auto admission = limits.Admit("198.51.100.4");
    ASSERT_TRUE(admission.ok());
    admitted.push_back(*std::move(admission));
  }
  EXPECT_FALSE(limits.Admit("198.51.100.4").ok());
  EXPECT_EQ(counters.handshakes_throttled.load(), 1u);
}

TEST(ConnectionLimitsTest, PrivateAddressesAreProxiesNotLimitedPerAddress) {
  base::Counters counters;
  ConnectionLimits limits(
      {.max_connections = 100, .max_connections_per_ip = 1, .handshakes_per_ip_per_s = 1},
      counters);
  std::vector<std::unique_ptr<ConnectionLimits::Admission>> admitted;
  for (const char* proxy : {"127.0.0.1", "::1", "10.1.2.3", "172.20.0.5", "192.168.1.9",
                            "100.64.7.7", "fd12::1", "::ffff:10.9.9.9"}) {
    for (int i = 0; i < 10; ++i) {
      auto admission = limits.Admit(proxy);
      ASSERT_TRUE(admission.ok()) << proxy << " #" << i;
      admitted.push_back(*std::move(admission));
    }
  }
  auto first = limits.Admit("203.0.113.50");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(limits.Admit("203.0.113.50").ok()) << "a public address is still limited";
  // The global cap counts them all: 80 + 1 admitted, room for 19 more.
  for (int i = 0; i < 19; ++i) {
    auto admission = limits.Admit("10.0.0.1");
    ASSERT_TRUE(admission.ok());
    admitted.push_back(*std::move(admission));
  }
  EXPECT_EQ(limits.Admit("10.0.0.1").status().message(), "too many connections");
}

TEST(ConnectionLimitsTest, LimitPrivateAddressesAppliesThemToEveryAddress) {
  base::Counters counters;
  ConnectionLimits limits({.max_connections_per_ip = 1, .limit_private_addresses = true}, counters);
  auto first = limits.Admit("127.0.0.1");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(limits.Admit("127.0.0.1").ok());
}

TEST(ConnectionLimitsTest, TrustedProxiesTakeCidrBlocks) {
  base::Counters counters;
  ConnectionLimits limits(
      {.trusted_proxies = {*AddressRange::Parse("10.0.0.0/8"), *AddressRange::Parse("fd00::/8")}},
      counters);
  EXPECT_EQ(limits.ClientAddress(Ip("10.200.3.4"), "203.0.113.9, 10.1.1.1"), "203.0.113.9");
  EXPECT_EQ(limits.ClientAddress(Ip("fd00::7"), "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(limits.ClientAddress(Ip("11.0.0.1"), "203.0.113.9"), "11.0.0.1");
}

}  // namespace
}  // namespace roomcast::net
