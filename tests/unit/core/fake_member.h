#pragma once

#include <string>
#include <vector>

#include "server/core/member.h"

namespace roomcast::core {

// A member that records what it is sent and does nothing else.
class FakeMember : public Member {
 public:
  explicit FakeMember(std::string id = "fake") : id_(std::move(id)) {}

  bool Deliver(const SharedPacket& packet) override {
    received.push_back(packet);
    return accept;
  }
  const std::string& id() const override { return id_; }
  std::vector<std::string> RoomNames() const override { return {}; }
  void JoinRoom(std::string_view) override {}
  void LeaveRoom(std::string_view) override {}
  void Disconnect(bool) override {}

  std::vector<SharedPacket> received;
  bool accept = true;

 private:
  std::string id_;
};

}  // namespace roomcast::core
