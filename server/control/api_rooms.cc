#include "server/control/api.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/control/request_checks.h"
#include "server/core/room_name.h"

namespace roomcast::control {
namespace {

// The rooms that stand for a selector: a socket's own id room, a room, or
// the room every socket of a user is in.
absl::StatusOr<std::vector<std::string>> TargetRooms(const v1::SocketSelector& selector) {
  switch (selector.target_case()) {
    case v1::SocketSelector::kSocketId:
      return std::vector<std::string>{selector.socket_id()};
    case v1::SocketSelector::kRoom:
      return std::vector<std::string>{selector.room()};
    case v1::SocketSelector::kUserId:
      return std::vector<std::string>{absl::StrCat("user:", selector.user_id())};
    case v1::SocketSelector::TARGET_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("sockets: one of socketId, room or userId is required");
}

uint64_t Sum(const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  for (uint64_t count : counts) {
    total += count;
  }
  return total;
}

}  // namespace

void ControlApi::JoinRooms(const v1::ChangeRoomsRequest& request, Caller,
                           Reply<v1::ChangeRoomsResponse> reply) {
  ChangeRooms(request, /*join=*/true, std::move(reply));
}

void ControlApi::LeaveRooms(const v1::ChangeRoomsRequest& request, Caller,
                            Reply<v1::ChangeRoomsResponse> reply) {
  ChangeRooms(request, /*join=*/false, std::move(reply));
}

void ControlApi::ChangeRooms(const v1::ChangeRoomsRequest& request, bool join,
                             Reply<v1::ChangeRoomsResponse> reply) {
  absl::StatusOr<std::vector<std::string>> targets = TargetRooms(request.sockets());
  absl::Status status = targets.status();
  if (status.ok()) {
    status = request.rooms().empty() ? absl::InvalidArgumentError("rooms: at least one room")
                                     : ValidateRooms(request.rooms(), "rooms");
  }
  absl::StatusOr<std::string> known =
      KnownNamespace(parts_.namespaces, request.sockets().namespace_());
  if (status.ok()) {
    status = known.status();
  }
  if (!status.ok()) {
    std::move(reply)(status);
    return;
  }
  const std::string nsp = *std::move(known);
  std::vector<std::string> rooms(request.rooms().begin(), request.rooms().end());
  core::GatherFromShards<uint64_t>(
      parts_.shards,
      [nsp, targets = *std::move(targets), rooms = std::move(rooms), join](core::RoomIndex& index) {
        std::vector<core::Member*> members = index.Select(nsp, targets, {});
        for (core::Member* member : members) {
          for (const std::string& room : rooms) {
            join ? member->JoinRoom(room) : member->LeaveRoom(room);
          }
        }
        return static_cast<uint64_t>(members.size());
      },
      [reply = std::move(reply)](const std::vector<uint64_t>& counts) mutable {
        v1::ChangeRoomsResponse response;
        response.set_sockets(Sum(counts));
        std::move(reply)(response);
      });
}

void ControlApi::DisconnectSockets(const v1::DisconnectSocketsRequest& request, Caller,
                                   Reply<v1::DisconnectSocketsResponse> reply) {
  absl::StatusOr<std::vector<std::string>> targets = TargetRooms(request.sockets());
  absl::StatusOr<std::string> known =
      KnownNamespace(parts_.namespaces, request.sockets().namespace_());
  if (!targets.ok() || !known.ok()) {
    std::move(reply)(targets.ok() ? known.status() : targets.status());
    return;
  }
  const std::string nsp = *std::move(known);
  core::GatherFromShards<uint64_t>(
      parts_.shards,
      [nsp, targets = *std::move(targets),
       close = request.close_connection()](core::RoomIndex& index) {
        // By id, looked up again one at a time: closing a connection also
        // removes its other sockets, which may be on this list.
        std::vector<std::string> ids;
        for (core::Member* member : index.Select(nsp, targets, {})) {
          ids.push_back(member->id());
        }
        uint64_t disconnected = 0;
        for (const std::string& id : ids) {
          std::vector<core::Member*> member = index.Select(nsp, {&id, 1}, {});
          if (!member.empty()) {
            member.front()->Disconnect(close);
            ++disconnected;
          }
        }
        return disconnected;
      },
      [reply = std::move(reply)](const std::vector<uint64_t>& counts) mutable {
        v1::DisconnectSocketsResponse response;
        response.set_sockets(Sum(counts));
        std::move(reply)(response);
      });
}

void ControlApi::ListRoomSockets(const v1::ListRoomSocketsRequest& request, Caller,
                                 Reply<v1::ListRoomSocketsResponse> reply) {
  if (absl::Status status = core::ValidateRoomName(request.room()); !status.ok()) {
    std::move(reply)(absl::InvalidArgumentError(absl::StrCat("room: ", status.message())));
    return;
  }
  absl::StatusOr<std::string> known = KnownNamespace(parts_.namespaces, request.namespace_());
  if (!known.ok()) {
    std::move(reply)(known.status());
    return;
  }
  const std::string nsp = *std::move(known);
  core::GatherFromShards<std::vector<v1::SocketInfo>>(
      parts_.shards,
      [nsp, room = request.room()](core::RoomIndex& index) {
        std::vector<v1::SocketInfo> sockets;
        for (core::Member* member : index.Select(nsp, {&room, 1}, {})) {
          v1::SocketInfo info;
          info.set_id(member->id());
          for (const std::string& name : member->RoomNames()) {
            if (name != member->id()) {
              info.add_rooms(name);
            }
          }
          sockets.push_back(std::move(info));
        }
        return sockets;
      },
      [reply = std::move(reply)](std::vector<std::vector<v1::SocketInfo>> shards) mutable {
        v1::ListRoomSocketsResponse response;
        for (auto& shard : shards) {
          for (auto& info : shard) {
            *response.add_sockets() = std::move(info);
          }
        }
        std::sort(response.mutable_sockets()->begin(), response.mutable_sockets()->end(),
                  [](const auto& a, const auto& b) { return a.id() < b.id(); });
        std::move(reply)(std::move(response));
      });
}

}  // namespace roomcast::control
