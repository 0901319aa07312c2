#include "server/control/api.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/control/paging.h"
#include "server/control/request_checks.h"
#include "server/core/room_command.h"
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

// Runs `command` on this node's sockets; answers how many it acted on.
template <typename Response>
void ApplyAndCount(core::ShardSet& shards, core::RoomCommand&& command, Reply<Response> reply) {
  core::ApplyRoomCommand(shards, std::move(command),
                         [reply = std::move(reply)](uint64_t sockets) mutable {
                           Response response;
                           response.set_sockets(sockets);
                           std::move(reply)(std::move(response));
                         });
}

}  // namespace

void ControlApi::JoinRoomsHere(const v1::ChangeRoomsRequest& request,
                               Reply<v1::ChangeRoomsResponse> reply) {
  ChangeRooms(request, /*join=*/true, std::move(reply));
}

void ControlApi::LeaveRoomsHere(const v1::ChangeRoomsRequest& request,
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
  core::RoomCommand command;
  command.kind = join ? core::RoomCommand::Kind::kJoin : core::RoomCommand::Kind::kLeave;
  command.nsp = *std::move(known);
  command.targets = *std::move(targets);
  command.rooms.assign(request.rooms().begin(), request.rooms().end());
  ApplyAndCount(parts_.shards, std::move(command), std::move(reply));
}

void ControlApi::DisconnectSocketsHere(const v1::DisconnectSocketsRequest& request,
                                       Reply<v1::DisconnectSocketsResponse> reply) {
  absl::StatusOr<std::vector<std::string>> targets = TargetRooms(request.sockets());
  absl::StatusOr<std::string> known =
      KnownNamespace(parts_.namespaces, request.sockets().namespace_());
  if (!targets.ok() || !known.ok()) {
    std::move(reply)(targets.ok() ? known.status() : targets.status());
    return;
  }
  core::RoomCommand command;
  command.kind = core::RoomCommand::Kind::kDisconnect;
  command.nsp = *std::move(known);
  command.targets = *std::move(targets);
  command.close_connection = request.close_connection();
  ApplyAndCount(parts_.shards, std::move(command), std::move(reply));
}

void ControlApi::ListRoomSocketsHere(const v1::ListRoomSocketsRequest& request,
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
  absl::StatusOr<std::string> after = PageTokenId(request.page_token());
  if (!after.ok()) {
    std::move(reply)(after.status());
    return;
  }
  const size_t page_size = PageSize(request.page_size());
  const std::string nsp = *std::move(known);
  core::GatherFromShards<std::vector<v1::SocketInfo>>(
      parts_.shards,
      [nsp, room = request.room(), after = *after, node = node_.node_id](core::RoomIndex& index) {
        std::vector<v1::SocketInfo> sockets;
        for (core::Member* member : index.Select(nsp, {&room, 1}, {})) {
          if (member->id() <= after) {
            continue;  // On an earlier page.
          }
          v1::SocketInfo info;
          info.set_id(member->id());
          info.set_node_id(node);
          for (const std::string& name : member->RoomNames()) {
            if (name != member->id()) {
              info.add_rooms(name);
            }
          }
          sockets.push_back(std::move(info));
        }
        return sockets;
      },
      [page_size,
       reply = std::move(reply)](std::vector<std::vector<v1::SocketInfo>> shards) mutable {
        v1::ListRoomSocketsResponse response;
        for (auto& shard : shards) {
          for (auto& info : shard) {
            *response.add_sockets() = std::move(info);
          }
        }
        TrimToPage(response, page_size);
        std::move(reply)(std::move(response));
      });
}

}  // namespace roomcast::control
