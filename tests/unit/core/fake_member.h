#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "server/core/member.h"
#include "server/core/room_index.h"

namespace roomcast::core {

// A member that records what it is sent and what it is told. Given an
// index, it joins and leaves that index's rooms as a socket would.
class FakeMember : public Member {
 public:
  explicit FakeMember(std::string id = "fake") : id_(std::move(id)) {}
  // A member of `nsp` in `index`, in its own id room, as a connected socket is.
  FakeMember(std::string id, RoomIndex& index, std::string nsp = "/")
      : id_(std::move(id)), index_(&index), nsp_(std::move(nsp)) {
    index_->AddMember(nsp_, this);
    JoinRoom(id_);
  }

  bool Deliver(const SharedPacket& packet) override {
    received.push_back(packet);
    return accept;
  }
  const std::string& id() const override { return id_; }
  std::vector<std::string> RoomNames() const override { return {rooms_.begin(), rooms_.end()}; }
  void JoinRoom(std::string_view room) override {
    rooms_.emplace(room);
    if (index_ != nullptr) index_->Join(nsp_, room, this);
  }
  void LeaveRoom(std::string_view room) override {
    rooms_.erase(std::string(room));
    if (index_ != nullptr) index_->Leave(nsp_, room, this);
  }
  void Disconnect(bool close_connection) override {
    disconnects.push_back(close_connection);
    if (index_ != nullptr) {
      const std::vector<std::string> rooms = RoomNames();
      index_->RemoveMember(nsp_, this, rooms);
      index_ = nullptr;
    }
  }

  uint64_t Ask(std::string_view event, std::string_view arg_json,
               AnswerHandler on_answer) override {
    asked.emplace_back(event, arg_json);
    answers.push_back(std::move(on_answer));
    return answers.size() - 1;
  }
  void Forget(uint64_t id) override { forgotten.push_back(id); }

  std::vector<std::pair<std::string, std::string>> asked;  // event, argument
  std::vector<AnswerHandler> answers;
  std::vector<uint64_t> forgotten;
  std::vector<SharedPacket> received;
  std::vector<bool> disconnects;  // close_connection of each Disconnect call
  bool accept = true;

 private:
  std::string id_;
  RoomIndex* index_ = nullptr;
  std::string nsp_;
  std::set<std::string> rooms_;
};

}  // namespace roomcast::core
