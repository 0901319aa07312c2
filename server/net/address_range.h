#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace roomcast::net {

// An address or a CIDR block (10.0.0.0/8, fd00::/8, 192.0.2.7), as the
// proxy settings take them (nginx's set_real_ip_from does the same).
// IPv4-mapped IPv6 addresses (::ffff:10.1.2.3, what a dual-stack socket
// reports for an IPv4 peer) count as the IPv4 address they carry.
class AddressRange {
 public:
  // nullopt when `text` is neither.
  static std::optional<AddressRange> Parse(std::string_view text);

  bool Contains(const boost::asio::ip::address& address) const;

 private:
  explicit AddressRange(const boost::asio::ip::network_v4& v4) : v4_(v4), is_v4_(true) {}
  explicit AddressRange(const boost::asio::ip::network_v6& v6) : v6_(v6), is_v4_(false) {}

  boost::asio::ip::network_v4 v4_;
  boost::asio::ip::network_v6 v6_;
  bool is_v4_;
};

// The address itself, or the IPv4 address an IPv4-mapped one carries.
boost::asio::ip::address Unmapped(const boost::asio::ip::address& address);

// Loopback, private (RFC 1918, fc00::/7), shared (100.64.0.0/10, carrier
// NAT) or link-local: where proxies, load balancers and sidecars connect
// from, never a browser on the internet.
bool IsPrivateAddress(const boost::asio::ip::address& address);

// Whether the per-address limits apply to a client at `address`: public
// addresses, and private ones too with `limit_private_addresses`.
inline bool LimitedPerAddress(const boost::asio::ip::address& address,
                              bool limit_private_addresses) {
  return limit_private_addresses || !IsPrivateAddress(address);
}

}  // namespace roomcast::net
