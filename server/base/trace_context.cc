#include "server/base/trace_context.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace roomcast::base {
namespace {

constexpr size_t kVersion00Length = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2.

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool AllZero(std::string_view text) {
  return text.find_first_not_of('0') == std::string_view::npos;
}

std::string RandomSpanId() {
  thread_local absl::BitGen gen;
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string id(16, '0');
  do {
    for (char& c : id) {
      c = kHex[absl::Uniform<size_t>(gen, 0, kHex.size())];
    }
  } while (AllZero(id));
  return id;
}

}  // namespace

std::string TraceParent::Child() const {
  return absl::StrCat("00-", trace_id, "-", span_id, "-", flags);
}

std::optional<TraceParent> ParseTraceParent(std::string_view header) {
  if (header.size() < kVersion00Length || header[2] != '-' || header[35] != '-' ||
      header[52] != '-') {
    return std::nullopt;
  }
  const std::string_view version = header.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") {
    return std::nullopt;
  }
  if (version == "00" ? header.size() != kVersion00Length
                      : header.size() > kVersion00Length && header[kVersion00Length] != '-') {
    return std::nullopt;
  }
  const std::string_view trace_id = header.substr(3, 32);
  const std::string_view parent = header.substr(36, 16);
  const std::string_view flags = header.substr(53, 2);
  if (!IsLowerHex(trace_id) || !IsLowerHex(parent) || !IsLowerHex(flags) || AllZero(trace_id) ||
      AllZero(parent)) {
    return std::nullopt;
  }
  return TraceParent{std::string(trace_id), std::string(parent), RandomSpanId(),
                     std::string(flags)};
}

}  // namespace roomcast::base
