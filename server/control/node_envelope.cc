#include "server/control/node_envelope.h"

#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"
#include "server/control/call_log.h"

namespace roomcast::control {
namespace {

constexpr std::string_view kTraceField = " traceparent=";

}  // namespace

std::string NodeEnvelope(std::string_view method, std::string_view body) {
  const base::TraceParent* trace = CurrentTrace();
  return absl::StrCat(ToAbsl(method),
                      trace != nullptr ? absl::StrCat(ToAbsl(kTraceField), trace->Child()) : "",
                      absl::string_view("\0", 1), ToAbsl(body));
}

NodeCall OpenNodeEnvelope(std::string_view envelope) {
  const size_t split = envelope.find('\0');
  NodeCall call;
  call.method = envelope.substr(0, split);
  call.body = split == std::string_view::npos ? std::string_view() : envelope.substr(split + 1);
  if (const size_t field = call.method.find(kTraceField); field != std::string_view::npos) {
    call.trace = base::ParseTraceParent(call.method.substr(field + kTraceField.size()));
    call.method = call.method.substr(0, field);
  }
  return call;
}

}  // namespace roomcast::control
