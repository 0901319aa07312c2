#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "absl/status/statusor.h"

namespace roomcast::auth {

// Which rooms an authenticated browser may join by itself. A room is allowed
// when it matches a pattern from the token's `rooms` claim or from the
// policy file's `allow` list. Patterns are exact names, or prefixes ending
// in `*` (`project:42:*`); policy patterns may use `{sub}` and
// `{claims.<name>}` (`user:{sub}`, `org:{claims.org}:*`), and are skipped
// when the claim is missing. Services may place sockets anywhere through
// the control plane; this only governs `join` and CONNECT `auth.rooms`.
class RoomPolicy {
 public:
  // Without a policy file: a user's own room, `user:{sub}`.
  RoomPolicy() : allow_({"user:{sub}"}) {}
  // `{"allow": ["pattern", ...]}`
  static absl::StatusOr<RoomPolicy> FromJson(std::string_view json);

  bool Allows(std::string_view room, const boost::json::object& claims) const;

 private:
  explicit RoomPolicy(std::vector<std::string> allow) : allow_(std::move(allow)) {}
  std::vector<std::string> allow_;
};

// `pattern` (exact, or a prefix ending in `*`) matches `room`.
bool RoomMatches(std::string_view pattern, std::string_view room);

}  // namespace roomcast::auth
