#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace roomcast::cli {

struct TailOptions {
  std::string socket_url;  // http://host:port of the Socket.IO endpoint.
  std::string nsp = "/";
  std::vector<std::string> rooms;
  std::string token;  // Sent as `auth.token` when set.
};

// Connects as a Socket.IO client over WebSocket (Roomcast's own codecs),
// joins `rooms` in the CONNECT auth payload, answers pings, and hands every
// event to `on_event` as a JSON line {"event":...,"args":[...]}. Returns
// when the connection ends: an error unless the server closed it normally.
absl::Status Tail(const TailOptions& options,
                  const std::function<void(const std::string&)>& on_event,
                  const std::function<void(const std::string&)>& on_connected);

}  // namespace roomcast::cli
