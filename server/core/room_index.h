#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/core/member.h"
#include "server/core/room_interest.h"

namespace roomcast::core {

// Who is in which room, for the sockets of one shard. Not thread-safe by
// design: each shard owns one and touches it only from its own thread.
class RoomIndex {
 public:
  // Told when this shard gains its first member of a namespace or room and
  // loses its last (a cluster broker subscribes by it); none by default.
  void set_interest(RoomInterest* interest) { interest_ = interest; }
  RoomInterest* interest() const { return interest_; }

  void AddMember(std::string_view nsp, Member* member);
  // Removes the member from the namespace and from every room it was in.
  // Takes `member` out of the namespace and out of `rooms`, the rooms it is
  // in: the member keeps that list, so the index does not hold a copy.
  void RemoveMember(std::string_view nsp, Member* member, std::span<const std::string> rooms);

  void Join(std::string_view nsp, std::string_view room, Member* member);
  void Leave(std::string_view nsp, std::string_view room, Member* member);

  // Every member of any of `rooms` (the whole namespace when `rooms` is
  // empty) that is in none of `except`, each exactly once.
  std::vector<Member*> Select(std::string_view nsp, std::span<const std::string> rooms,
                              std::span<const std::string> except) const;

  size_t MemberCount(std::string_view nsp) const;
  // Every namespace with members, and its rooms with their sizes (own id rooms included).
  template <typename Visit>  // void(std::string_view nsp, std::string_view room, size_t size)
  void ForEachRoom(Visit&& visit) const {
    for (const auto& [nsp, ns] : namespaces_) {
      for (const auto& [room, members] : ns.rooms) {
        visit(nsp, room, members.size());
      }
    }
  }
  std::vector<std::string> Namespaces() const;
  size_t RoomSize(std::string_view nsp, std::string_view room) const;
  size_t RoomCount(std::string_view nsp) const;

 private:
  using Members = absl::flat_hash_set<Member*>;
  struct Namespace {
    Members members;
    absl::flat_hash_map<std::string, Members> rooms;
    // Rooms per member, so removal does not scan every room.
  };
  const Namespace* Find(std::string_view nsp) const;
  // Drops `member` from `room` of `ns`, and the room when it empties.
  void LeaveRoom(std::string_view nsp, Namespace& ns, std::string_view room, Member* member);

  RoomInterest* interest_ = nullptr;

  absl::flat_hash_map<std::string, Namespace> namespaces_;
};

}  // namespace roomcast::core
