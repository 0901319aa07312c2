#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/status.h"

namespace roomcast::cli {

struct TailOptions {
  std::string socket_url;                          // http(s)://host:port of the Socket.IO endpoint.
  std::shared_ptr<boost::asio::ssl::context> tls;  // Set for https:// (wss).
  std::string nsp = "/";
  std::vector<std::string> rooms;
  std::string token;  // Sent as `auth.token` when set.
};

// Connects as a Socket.IO client over WebSocket, or wss with `tls` (Roomcast's own codecs),
// joins `rooms` in the CONNECT auth payload, answers pings, and hands every
// event to `on_event` as a JSON line {"event":...,"args":[...]}. Returns
// when the connection ends: an error unless the server closed it normally.
absl::Status Tail(const TailOptions& options,
                  const std::function<void(const std::string&)>& on_event,
                  const std::function<void(const std::string&)>& on_connected);

}  // namespace roomcast::cli
