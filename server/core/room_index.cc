#include "server/core/room_index.h"
#include "server/base/string_view.h"

namespace roomcast::core {

const RoomIndex::Namespace* RoomIndex::Find(std::string_view nsp) const {
  auto it = namespaces_.find(ToAbsl(nsp));
  return it == namespaces_.end() ? nullptr : &it->second;
}

void RoomIndex::AddMember(std::string_view nsp, Member* member) {
  Members& members = namespaces_[ToAbsl(nsp)].members;
  if (members.insert(member).second && members.size() == 1 && interest_ != nullptr) {
    interest_->GainedNamespace(nsp);
  }
}

void RoomIndex::LeaveRoom(std::string_view nsp, Namespace& ns, std::string_view room,
                          Member* member) {
  auto room_it = ns.rooms.find(ToAbsl(room));
  if (room_it == ns.rooms.end()) {
    return;
  }
  room_it->second.erase(member);
  if (room_it->second.empty()) {
    ns.rooms.erase(room_it);
    if (interest_ != nullptr) {
      interest_->LostRoom(nsp, room);
    }
  }
}

void RoomIndex::RemoveMember(std::string_view nsp, Member* member,
                             std::span<const std::string> rooms) {
  auto ns_it = namespaces_.find(ToAbsl(nsp));
  if (ns_it == namespaces_.end()) {
    return;
  }
  Namespace& ns = ns_it->second;
  for (const std::string& room : rooms) {
    LeaveRoom(nsp, ns, room, member);
  }
  if (ns.members.erase(member) == 1 && ns.members.empty() && interest_ != nullptr) {
    interest_->LostNamespace(nsp);
  }
  if (ns.members.empty() && ns.rooms.empty()) {
    namespaces_.erase(ns_it);
  }
}

void RoomIndex::Join(std::string_view nsp, std::string_view room, Member* member) {
  Namespace& ns = namespaces_[ToAbsl(nsp)];
  auto [room_it, created] = ns.rooms.try_emplace(ToAbsl(room));
  room_it->second.insert(member);
  if (created && interest_ != nullptr) {
    interest_->GainedRoom(nsp, room);
  }
}

void RoomIndex::Leave(std::string_view nsp, std::string_view room, Member* member) {
  auto ns_it = namespaces_.find(ToAbsl(nsp));
  if (ns_it == namespaces_.end()) {
    return;
  }
  LeaveRoom(nsp, ns_it->second, room, member);
}

std::vector<Member*> RoomIndex::Select(std::string_view nsp, std::span<const std::string> rooms,
                                       std::span<const std::string> except) const {
  std::vector<Member*> out;
  const Namespace* ns = Find(nsp);
  if (ns == nullptr) {
    return out;
  }
  Members excluded;
  for (const std::string& room : except) {
    if (auto it = ns->rooms.find(room); it != ns->rooms.end()) {
      excluded.insert(it->second.begin(), it->second.end());
    }
  }
  auto consider = [&](Member* member) {
    if (!excluded.contains(member)) {
      out.push_back(member);
    }
  };
  if (rooms.empty()) {
    out.reserve(ns->members.size());
    for (Member* member : ns->members) {
      consider(member);
    }
    return out;
  }
  if (rooms.size() == 1) {
    if (auto it = ns->rooms.find(rooms.front()); it != ns->rooms.end()) {
      out.reserve(it->second.size());
      for (Member* member : it->second) {
        consider(member);
      }
    }
    return out;
  }
  Members seen;
  for (const std::string& room : rooms) {
    if (auto it = ns->rooms.find(room); it != ns->rooms.end()) {
      for (Member* member : it->second) {
        if (seen.insert(member).second) {
          consider(member);
        }
      }
    }
  }
  return out;
}

size_t RoomIndex::MemberCount(std::string_view nsp) const {
  const Namespace* ns = Find(nsp);
  return ns == nullptr ? 0 : ns->members.size();
}

std::vector<std::string> RoomIndex::Namespaces() const {
  std::vector<std::string> out;
  for (const auto& [nsp, ns] : namespaces_) {
    out.push_back(nsp);
  }
  return out;
}

size_t RoomIndex::RoomSize(std::string_view nsp, std::string_view room) const {
  const Namespace* ns = Find(nsp);
  if (ns == nullptr) {
    return 0;
  }
  auto it = ns->rooms.find(ToAbsl(room));
  return it == ns->rooms.end() ? 0 : it->second.size();
}

size_t RoomIndex::RoomCount(std::string_view nsp) const {
  const Namespace* ns = Find(nsp);
  return ns == nullptr ? 0 : ns->rooms.size();
}

}  // namespace roomcast::core
