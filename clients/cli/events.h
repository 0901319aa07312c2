#pragma once

#include <signal.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "clients/cpp/client.h"

namespace roomcast::cli {

struct EventsOptions {
  v1::ReceiveClientEventsRequest request;
  // When set: every event that wants an ack is acked with these arguments
  // (a JSON array).
  std::optional<std::string> ack_args_json;
};

// An event as one JSON line: {"id","namespace","event","kind","args" (the
// parsed JSON),"socketId","userId","rooms","nodeId","wantsAck","time" (Unix
// ms),"reason"}, and "attachments" (base64) when it has binary arguments.
std::string ClientEventLine(const v1::ClientEvent& event);

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread it
// starts afterwards (call it before the Client exists); returns the set, for
// ReceiveEvents to wait on.
sigset_t BlockStopSignals();

// Receives the client events `options` asks for and hands each to `on_line`
// as a JSON line (on a gRPC thread), reconnecting when the stream ends (each
// end goes to `on_note`), until one of `stop_signals` arrives (OK) or the
// server refuses the stream for good (that status).
absl::Status ReceiveEvents(Client& client, const EventsOptions& options,
                           const sigset_t& stop_signals,
                           const std::function<void(const std::string&)>& on_line,
                           const std::function<void(const std::string&)>& on_note);

}  // namespace roomcast::cli
