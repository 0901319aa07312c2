#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace roomcast::core {

// What this node wants to hear from the others: told (from each shard's
// thread) when a shard gains its first member of a namespace or room and when
// it loses the last, so a cluster broker subscribes to exactly the traffic
// this node has sockets for.
class RoomInterest {
 public:
  using Ready = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~RoomInterest() = default;
  virtual void GainedNamespace(std::string_view nsp) = 0;
  virtual void LostNamespace(std::string_view nsp) = 0;
  virtual void GainedRoom(std::string_view nsp, std::string_view room) = 0;
  virtual void LostRoom(std::string_view nsp, std::string_view room) = 0;
  // `ready` runs (on any thread, possibly at once) when this node receives
  // the traffic of every one of `rooms`, or with why it cannot.
  virtual void WhenReceiving(std::string_view nsp, std::span<const std::string> rooms,
                             Ready ready) = 0;
};

}  // namespace roomcast::core
