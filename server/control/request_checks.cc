#include "server/control/request_checks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/base/string_view.h"
#include "server/core/room_name.h"

namespace roomcast::control {
namespace {

template <typename Rooms>  // Any range of std::string.
absl::Status CheckRooms(const Rooms& rooms, std::string_view field) {
  for (const std::string& room : rooms) {
    if (absl::Status status = core::ValidateRoomName(room); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(field), ": '", room, "': ", status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> KnownNamespace(const std::vector<std::string>& configured,
                                           const std::string& nsp) {
  std::string name = nsp.empty() ? "/" : nsp;
  if (std::find(configured.begin(), configured.end(), name) == configured.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace \"", name,
                     "\" is not configured (configured: ", absl::StrJoin(configured, ", "), ")"));
  }
  return name;
}

absl::Status ValidateRooms(const std::vector<std::string>& rooms, std::string_view field) {
  return CheckRooms(rooms, field);
}

absl::Status ValidateRooms(const google::protobuf::RepeatedPtrField<std::string>& rooms,
                           std::string_view field) {
  return CheckRooms(rooms, field);
}

}  // namespace roomcast::control
