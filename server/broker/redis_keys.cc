#include "server/broker/redis_keys.h"

namespace roomcast::broker {
namespace {

constexpr std::string_view kRoomPart = "}:room:";
constexpr std::string_view kNamespacePart = "}:all";

// absl::StrCat takes absl::string_view, which Debian's abseil keeps apart
// from std::string_view.
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    out.append(part);
  }
  return out;
}

}  // namespace

std::string RedisKeys::Tagged(std::string_view nsp) const { return Cat({tagged_head_, nsp}); }

std::string RedisKeys::Room(std::string_view nsp, std::string_view room) const {
  return Cat({Tagged(nsp), kRoomPart, room});
}
std::string RedisKeys::Namespace(std::string_view nsp) const {
  return Cat({Tagged(nsp), kNamespacePart});
}
std::string RedisKeys::Log(std::string_view nsp) const { return Cat({Tagged(nsp), "}:log"}); }
std::string RedisKeys::LogMeta(std::string_view nsp) const {
  return Cat({Tagged(nsp), "}:log-meta"});
}
std::string RedisKeys::Idempotency(std::string_view nsp, std::string_view key) const {
  return Cat({Tagged(nsp), "}:idem:", key});
}
std::string RedisKeys::Session(std::string_view nsp, std::string_view pid) const {
  return Cat({Tagged(nsp), "}:session:", pid});
}
std::string RedisKeys::Nodes() const { return Cat({prefix_, ":rc:nodes"}); }
std::string RedisKeys::Node(std::string_view id) const { return Cat({prefix_, ":rc:node:", id}); }

std::string RedisKeys::NodeChannel(std::string_view id) const {
  return Cat({prefix_, ":rc:node:", id, ":requests"});
}

std::string RedisKeys::ClassicNamespace(std::string_view nsp) const {
  return Cat({prefix_, "#", nsp, "#"});
}
std::string RedisKeys::ClassicRoom(std::string_view nsp, std::string_view room) const {
  return Cat({prefix_, "#", nsp, "#", room, "#"});
}
std::string RedisKeys::ClassicRequest(std::string_view nsp) const {
  return Cat({request_head_, nsp, "#"});
}

std::string RedisKeys::ClassicResponse(std::string_view nsp) const {
  return Cat({prefix_, "-response#", nsp, "#"});
}

std::optional<RedisKeys::Channel> RedisKeys::ParseChannel(std::string_view channel) const {
  if (!channel.starts_with(tagged_head_)) {
    return std::nullopt;
  }
  channel.remove_prefix(tagged_head_.size());
  // The room part is searched first: a room name may contain anything.
  if (size_t at = channel.find(kRoomPart); at != std::string_view::npos) {
    return Channel{std::string(channel.substr(0, at)),
                   std::string(channel.substr(at + kRoomPart.size()))};
  }
  if (channel.ends_with(kNamespacePart)) {
    channel.remove_suffix(kNamespacePart.size());
    return Channel{std::string(channel), std::nullopt};
  }
  return std::nullopt;
}

std::optional<std::string_view> RedisKeys::ClassicRequestNamespace(std::string_view channel) const {
  if (!channel.starts_with(request_head_) || !channel.ends_with('#')) {
    return std::nullopt;
  }
  return channel.substr(request_head_.size(), channel.size() - request_head_.size() - 1);
}

}  // namespace roomcast::broker
