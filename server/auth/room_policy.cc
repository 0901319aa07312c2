#include "server/auth/room_policy.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"

namespace roomcast::auth {
namespace {

namespace json = boost::json;

// `{sub}` and `{claims.<name>}` replaced from string claims; nullopt when
// one is missing (the pattern then allows nothing).
std::optional<std::string> Expand(std::string_view pattern, const json::object& claims) {
  std::string out;
  size_t pos = 0;
  while (pos < pattern.size()) {
    const size_t open = pattern.find('{', pos);
    if (open == std::string_view::npos) {
      out.append(pattern.substr(pos));
      break;
    }
    const size_t close = pattern.find('}', open);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    out.append(pattern.substr(pos, open - pos));
    std::string_view name = pattern.substr(open + 1, close - open - 1);
    if (name.starts_with("claims.")) {
      name.remove_prefix(7);
    }
    const json::value* value = claims.if_contains(name);
    if (value == nullptr || !value->is_string() || value->as_string().empty()) {
      return std::nullopt;
    }
    out.append(value->as_string());
    pos = close + 1;
  }
  return out;
}

}  // namespace

bool RoomMatches(std::string_view pattern, std::string_view room) {
  if (!pattern.empty() && pattern.back() == '*') {
    return room.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return pattern == room;
}

absl::StatusOr<RoomPolicy> RoomPolicy::FromJson(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  const json::object* object = ec ? nullptr : value.if_object();
  const json::value* allow = object ? object->if_contains("allow") : nullptr;
  if (allow == nullptr || !allow->is_array()) {
    return absl::InvalidArgumentError(R"(a room policy is {"allow": ["pattern", ...]})");
  }
  std::vector<std::string> patterns;
  for (const json::value& pattern : allow->as_array()) {
    if (!pattern.is_string() || pattern.as_string().empty()) {
      return absl::InvalidArgumentError("room policy patterns are non-empty strings");
    }
    patterns.emplace_back(pattern.as_string());
  }
  return RoomPolicy(std::move(patterns));
}

bool RoomPolicy::Allows(std::string_view room, const json::object& claims) const {
  if (const json::value* granted = claims.if_contains("rooms");
      granted != nullptr && granted->is_array()) {
    for (const json::value& pattern : granted->as_array()) {
      if (pattern.is_string() && RoomMatches(pattern.as_string(), room)) {
        return true;
      }
    }
  }
  for (std::string_view pattern : allow_) {
    // Only the pattern's own trailing `*` is a wildcard: a claim value is
    // always literal, so a `sub` of "ali*" stands for "user:ali*" alone.
    const bool prefix = pattern.ends_with('*');
    if (prefix) {
      pattern.remove_suffix(1);
    }
    std::optional<std::string> expanded = Expand(pattern, claims);
    if (expanded && (prefix ? room.starts_with(*expanded) : room == *expanded)) {
      return true;
    }
  }
  return false;
}

}  // namespace roomcast::auth
