#include "server/core/room_name.h"

#include "absl/strings/str_cat.h"

namespace roomcast::core {

absl::Status ValidateRoomName(std::string_view room) {
  if (room.empty()) {
    return absl::InvalidArgumentError("room name must not be empty");
  }
  if (room.size() > kMaxRoomNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("room name is longer than ", kMaxRoomNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace roomcast::core
