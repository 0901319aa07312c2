#include "server/net/connection_limits.h"

#include <gtest/gtest.h>

namespace roomcast::net {
namespace {

boost::asio::ip::address Ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(ConnectionLimitsTest, CapsPerAddressAndReleasesOnDestruction) {
  base::Counters counters;
  ConnectionLimits limits({.max_connections = 10, .max_connections_per_ip = 2}, counters);
  auto a = limits.Admit("10.0.0.1");
  auto b = limits.Admit("10.0.0.1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(limits.Admit("10.0.0.1").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limits.Admit("10.0.0.2").ok());
  a->reset();
  EXPECT_TRUE(limits.Admit("10.0.0.1").ok());
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
  ConnectionLimits limits({.trusted_proxies = {Ip("127.0.0.1")}}, counters);
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
    auto admission = limits.Admit("a");
    ASSERT_TRUE(admission.ok());
    admitted.push_back(*std::move(admission));
  }
  EXPECT_FALSE(limits.Admit("a").ok());
  EXPECT_EQ(counters.handshakes_throttled.load(), 1u);
}

}  // namespace
}  // namespace roomcast::net
