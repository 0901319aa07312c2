#include "server/control/call_log.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

namespace roomcast::control {
namespace {

thread_local const base::TraceParent* current_trace = nullptr;

std::string_view Via(Caller caller) { return caller == Caller::kGrpc ? "grpc" : "http"; }

std::string TraceFields(const base::TraceParent& trace) {
  return absl::StrCat(" trace_id=", trace.trace_id, " span_id=", trace.span_id,
                      " parent_span_id=", trace.parent_span_id);
}

}  // namespace

const base::TraceParent* CurrentTrace() { return current_trace; }

ScopedTrace::ScopedTrace(const std::optional<base::TraceParent>& trace) : previous_(current_trace) {
  current_trace = trace ? &*trace : nullptr;
}

ScopedTrace::~ScopedTrace() { current_trace = previous_; }

void CountCall(observe::Metrics& metrics, const CallInfo& call) {
  metrics.CountControlCall(call.key_name, call.method);
}

void LogCall(const CallInfo& call, const absl::Status& status) {
  const spdlog::level::level_enum level =
      call.trace || !status.ok() ? spdlog::level::info : spdlog::level::debug;
  if (!spdlog::should_log(level)) {
    return;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - call.start)
          .count();
  spdlog::log(level, "control: call method={} via={} key={} code={} ms={:.2f}{}", call.method,
              Via(call.caller), call.key_name.empty() ? "none" : call.key_name,
              absl::StatusCodeToString(status.code()), ms,
              call.trace ? TraceFields(*call.trace) : std::string());
}

void LogNodeCall(std::string_view method, const base::TraceParent& trace) {
  spdlog::info("control: node call method={}{}", method, TraceFields(trace));
}

void LogRefusedCall(std::string_view method, Caller caller) {
  spdlog::warn("control: call refused method={} via={} reason=\"no valid API key\"", method,
               Via(caller));
}

}  // namespace roomcast::control
