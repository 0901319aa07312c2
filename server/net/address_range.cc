#include "server/net/address_range.h"

#include <string>
#include <vector>

namespace roomcast::net {

namespace ip = boost::asio::ip;

std::optional<AddressRange> AddressRange::Parse(std::string_view text) {
  boost::system::error_code ec;
  const std::string copy(text);
  if (copy.find('/') == std::string::npos) {
    const ip::address address = Unmapped(ip::make_address(copy, ec));
    if (ec) {
      return std::nullopt;
    }
    return address.is_v4() ? AddressRange(ip::network_v4(address.to_v4(), 32))
                           : AddressRange(ip::network_v6(address.to_v6(), 128));
  }
  if (copy.find(':') == std::string::npos) {
    const ip::network_v4 v4 = ip::make_network_v4(copy, ec);
    return ec ? std::nullopt : std::optional(AddressRange(v4.canonical()));
  }
  const ip::network_v6 v6 = ip::make_network_v6(copy, ec);
  return ec ? std::nullopt : std::optional(AddressRange(v6.canonical()));
}

bool AddressRange::Contains(const ip::address& address) const {
  const ip::address plain = Unmapped(address);
  if (plain.is_v4() != is_v4_) {
    return false;
  }
  return is_v4_ ? ip::network_v4(plain.to_v4(), 32).is_subnet_of(v4_) ||
                      ip::network_v4(plain.to_v4(), 32) == v4_
                : ip::network_v6(plain.to_v6(), 128).is_subnet_of(v6_) ||
                      ip::network_v6(plain.to_v6(), 128) == v6_;
}

ip::address Unmapped(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

bool IsPrivateAddress(const ip::address& address) {
  static const auto* const kRanges = [] {
    auto* ranges = new std::vector<AddressRange>();
    for (const char* block :
         {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
          "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"}) {
      ranges->push_back(*AddressRange::Parse(block));
    }
    return ranges;
  }();
  for (const AddressRange& range : *kRanges) {
    if (range.Contains(address)) {
      return true;
    }
  }
  return false;
}

}  // namespace roomcast::net
