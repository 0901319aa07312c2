#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roomcast::base {

// A W3C Trace Context `traceparent`: which trace a call belongs to and the
// caller's span in it (https://www.w3.org/TR/trace-context/).
struct TraceParent {
  std::string trace_id;        // 32 lowercase hex, not all zero.
  std::string parent_span_id;  // The caller's span: 16 lowercase hex, not all zero.
  std::string span_id;         // Roomcast's own span, child of the caller's.
  std::string flags;           // 2 lowercase hex (01: sampled).

  // The header to pass on from Roomcast's span: version 00, this trace,
  // span_id as the parent, the same flags.
  std::string Child() const;
};

// The header as the spec has receivers read it: version 00 is exactly
// `00-<trace-id>-<parent-id>-<flags>`; a later version (not ff) may add
// fields after a dash, which are ignored. Anything else is nullopt (the call
// goes on untraced). A fresh random span_id is made for Roomcast's span.
std::optional<TraceParent> ParseTraceParent(std::string_view header);

}  // namespace roomcast::base
