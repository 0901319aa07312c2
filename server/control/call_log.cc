#include "server/control/call_log.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

namespace roomcast::control {
namespace {

thread_local const base::TraceParent* current_trace = nullptr;

std::string_view Via(Caller caller) { return caller == Caller::kGrpc ? "grpc" : "http"; }

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
  std::string trace;
  if (call.trace) {
    trace = absl::StrCat(" trace_id=", call.trace->trace_id, " span_id=", call.trace->span_id,
                         " parent_span_id=", call.trace->parent_span_id);
  }
  spdlog::log(level, "control: call method={} via={} key={} code={} ms={:.2f}{}", call.method,
              Via(call.caller), call.key_name.empty() ? "none" : call.key_name,
              absl::StatusCodeToString(status.code()), ms, trace);
}

void LogRefusedCall(std::string_view method, Caller caller) {
  spdlog::warn("control: call refused method={} via={} reason=\"no valid API key\"", method,
               Via(caller));
}

}  // namespace roomcast::control
