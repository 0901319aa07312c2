#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/core/encoded_packet.h"

namespace roomcast::core {

// A socket as the room index and the control plane see it.
class Member : public Recipient {
 public:
  virtual const std::string& id() const = 0;
  // Every room it is in, its own id room included, sorted.
  virtual std::vector<std::string> RoomNames() const = 0;
  virtual void JoinRoom(std::string_view room) = 0;
  virtual void LeaveRoom(std::string_view room) = 0;
  // Leaves the namespace (the client is told); with `close_connection`, the
  // client's whole connection ends, every namespace on it too.
  virtual void Disconnect(bool close_connection) = 0;
};

}  // namespace roomcast::core
