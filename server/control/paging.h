#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "roomcast/v1/rooms.pb.h"

namespace roomcast::control {

// ListRoomSockets pages by socket id, so every node can answer its part of
// a page on its own: a page is the `page_size` smallest ids after the
// previous page's last one.
inline constexpr size_t kDefaultPageSize = 1000;
inline constexpr size_t kMaxPageSize = 10000;

size_t PageSize(uint32_t requested);
// The socket id a page token carries (empty token: before every id).
absl::StatusOr<std::string> PageTokenId(std::string_view token);
// Sorts `response` by id and keeps the first `page_size`, with a token for
// the next page when there may be more (more sockets here, or a node that
// said so by setting a token of its own).
void TrimToPage(v1::ListRoomSocketsResponse& response, size_t page_size);

}  // namespace roomcast::control
