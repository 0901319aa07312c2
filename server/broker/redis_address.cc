#include "server/broker/redis_address.h"

#include <boost/url/parse.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace roomcast::broker {

std::string RedisAddress::Describe() const {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

absl::StatusOr<RedisAddress> ParseRedisUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return absl::InvalidArgumentError("not a URL: expected redis://[user:password@]host:port[/db]");
  }
  RedisAddress address;
  const std::string scheme = parsed->scheme();
  if (scheme != "redis" && scheme != "rediss") {
    return absl::InvalidArgumentError(
        absl::StrCat("scheme '", scheme, "' is not redis:// or rediss://"));
  }
  address.tls = scheme == "rediss";
  address.host = parsed->encoded_host_address().decode();
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    address.host = parsed->host_ipv6_address().to_string();
  }
  if (address.host.empty()) {
    return absl::InvalidArgumentError("the host is missing");
  }
  if (parsed->has_port()) {
    const std::string text(parsed->port());
    uint32_t port = 0;
    if (!absl::SimpleAtoi(text, &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("port '", text, "' is not 1-65535"));
    }
    address.port = static_cast<uint16_t>(port);
  }
  if (parsed->has_userinfo()) {
    address.user = parsed->encoded_user().decode();
    address.password = parsed->encoded_password().decode();
  }
  std::string path = parsed->encoded_path().decode();
  if (!path.empty() && path != "/") {
    if (!absl::SimpleAtoi(path.substr(1), &address.db) || address.db < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("database '", path.substr(1), "' is not a number"));
    }
  }
  return address;
}

}  // namespace roomcast::broker
