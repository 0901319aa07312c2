#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace roomcast::broker {

// Where Redis is and how to log in: from
// redis[s]://[[user]:password@]host[:port][/db].
struct RedisAddress {
  std::string host;
  uint16_t port = 6379;
  std::string user;  // Empty: the default user (AUTH with a password only).
  std::string password;
  int db = 0;
  bool tls = false;  // rediss://

  // host:port, for logs (never the password).
  std::string Describe() const;
};

absl::StatusOr<RedisAddress> ParseRedisUrl(std::string_view url);

}  // namespace roomcast::broker
