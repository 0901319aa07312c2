#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/base/trace_context.h"
#include "server/control/api.h"
#include "server/observe/metrics.h"

namespace roomcast::control {

// Who made a control call, for its log line and the per-key counter: the
// key's name (never the key) and the caller's W3C trace, if any.
struct CallInfo {
  std::string_view method;
  Caller caller;
  std::string key_name = {};  // "" when no key is required.
  std::optional<base::TraceParent> trace = {};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// The trace of the control call being served on this thread, while its
// handler runs (the API starts its work within it): what ClientEvents and
// webhooks that follow from the call carry on. Null outside a traced call.
const base::TraceParent* CurrentTrace();

class ScopedTrace {
 public:
  explicit ScopedTrace(const std::optional<base::TraceParent>& trace);
  ~ScopedTrace();
  ScopedTrace(const ScopedTrace&) = delete;
  ScopedTrace& operator=(const ScopedTrace&) = delete;

 private:
  const base::TraceParent* previous_;
};

// Counts the call by key and method, then logs one line when it ends:
// `control: call method=Emit via=grpc key=env-1 code=OK ms=0.41` plus
// `trace_id= span_id= parent_span_id=` when traced. Untraced calls that
// succeed log at debug (an emit each, too many for info); traced or failed
// ones at info.
void CountCall(observe::Metrics& metrics, const CallInfo& call);
void LogCall(const CallInfo& call, const absl::Status& status);
// A traced call another node passed on, at info, as it starts here.
void LogNodeCall(std::string_view method, const base::TraceParent& trace);
// A call refused for want of a valid key, at warn.
void LogRefusedCall(std::string_view method, Caller caller);

}  // namespace roomcast::control
