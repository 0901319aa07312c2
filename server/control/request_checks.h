#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace roomcast::control {

// `nsp` ("" = "/") if it is one of `configured`, else INVALID_ARGUMENT naming it.
absl::StatusOr<std::string> KnownNamespace(const std::vector<std::string>& configured,
                                           const std::string& nsp);

// OK if every room name is valid, else INVALID_ARGUMENT naming `field` and the room.
absl::Status ValidateRooms(const std::vector<std::string>& rooms, std::string_view field);
absl::Status ValidateRooms(const google::protobuf::RepeatedPtrField<std::string>& rooms,
                           std::string_view field);

}  // namespace roomcast::control
