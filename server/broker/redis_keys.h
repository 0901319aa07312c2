#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roomcast::broker {

// The names of every key and channel, under one prefix (default
// "socket.io", as Socket.IO's adapter and emitter use). Roomcast's own carry
// the namespace as a hash tag, so a namespace's log and channels share one
// Redis Cluster slot and one script can append and publish atomically;
// Socket.IO's classic channels keep their own shape.
class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix)
      : prefix_(std::move(prefix)),
        tagged_head_(prefix_ + ":rc:{"),
        request_head_(prefix_ + "-request#") {}
  const std::string& prefix() const { return prefix_; }

  // Sharded channels (SSUBSCRIBE) for Roomcast's events.
  std::string Room(std::string_view nsp, std::string_view room) const;
  std::string Namespace(std::string_view nsp) const;
  // A namespace's log: its stream, its {epoch, seq} hash, an emit's idempotency key.
  std::string Log(std::string_view nsp) const;
  std::string LogMeta(std::string_view nsp) const;
  std::string Idempotency(std::string_view nsp, std::string_view key) const;
  // A Socket.IO session kept for connection state recovery, by private id.
  std::string Session(std::string_view nsp, std::string_view pid) const;
  // Live nodes: a sorted set by last heartbeat, and each node's own status.
  std::string Nodes() const;
  std::string Node(std::string_view id) const;
  // The channel a node hears requests (and answers to its own) on.
  std::string NodeChannel(std::string_view id) const;

  // Socket.IO's classic channels (plain SUBSCRIBE): broadcasts to a
  // namespace (or several rooms), to one room, and requests.
  std::string ClassicNamespace(std::string_view nsp) const;
  std::string ClassicRoom(std::string_view nsp, std::string_view room) const;
  std::string ClassicRequest(std::string_view nsp) const;
  std::string ClassicResponse(std::string_view nsp) const;

  // What a Roomcast channel is for.
  struct Channel {
    std::string nsp;
    std::optional<std::string> room;  // nullopt: the namespace channel.
  };
  std::optional<Channel> ParseChannel(std::string_view channel) const;
  // The namespace of a classic request channel; nullopt for any other.
  std::optional<std::string_view> ClassicRequestNamespace(std::string_view channel) const;

 private:
  std::string Tagged(std::string_view nsp) const;  // <prefix>:rc:{<nsp>}

  std::string prefix_;
  // Matched against every message's channel: made once.
  std::string tagged_head_;   // <prefix>:rc:{
  std::string request_head_;  // <prefix>-request#
};

}  // namespace roomcast::broker
