#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/base/trace_context.h"

namespace roomcast::control {

// What travels between nodes for a call: the method, a NUL, the body. Made
// within a traced control call (CurrentTrace()), the method is followed by
// ` traceparent=<Roomcast's span>`, so the node that answers logs and
// carries on the same trace. (A node older than this answers a traced call
// as a method it does not know: nothing.)
std::string NodeEnvelope(std::string_view method, std::string_view body);

struct NodeCall {
  std::string_view method;
  std::string_view body;
  std::optional<base::TraceParent> trace;  // With a span of this node's own.
};

// Views into `envelope`, which must outlive the result.
NodeCall OpenNodeEnvelope(std::string_view envelope);

}  // namespace roomcast::control
