#include "server/control/paging.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"

namespace roomcast::control {
namespace {

constexpr char kTokenTag[] = "after:";

}  // namespace

size_t PageSize(uint32_t requested) {
  return requested == 0 ? kDefaultPageSize : std::min<size_t>(requested, kMaxPageSize);
}

absl::StatusOr<std::string> PageTokenId(std::string_view token) {
  if (token.empty()) {
    return std::string();
  }
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(ToAbsl(token), &decoded) || !decoded.starts_with(kTokenTag)) {
    return absl::InvalidArgumentError("pageToken is not one this server gave out");
  }
  return decoded.substr(sizeof(kTokenTag) - 1);
}

void TrimToPage(v1::ListRoomSocketsResponse& response, size_t page_size) {
  auto& sockets = *response.mutable_sockets();
  std::sort(sockets.begin(), sockets.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  const bool more =
      static_cast<size_t>(sockets.size()) > page_size || !response.next_page_token().empty();
  if (static_cast<size_t>(sockets.size()) > page_size) {
    sockets.DeleteSubrange(static_cast<int>(page_size),
                           sockets.size() - static_cast<int>(page_size));
  }
  response.clear_next_page_token();
  if (more && !sockets.empty()) {
    std::string token;
    absl::WebSafeBase64Escape(std::string(kTokenTag) + sockets.rbegin()->id(), &token);
    response.set_next_page_token(token);
  }
}

}  // namespace roomcast::control
