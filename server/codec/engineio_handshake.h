#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace roomcast::engineio {

enum class Transport { kPolling, kWebSocket };

std::string_view TransportName(Transport transport);

// The Engine.IO error table: code and message as the reference server sends them.
struct RequestError {
  int code;
  std::string_view message;
  int http_status;
};
inline constexpr RequestError kTransportUnknown{0, "Transport unknown", 400};
inline constexpr RequestError kSessionIdUnknown{1, "Session ID unknown", 400};
inline constexpr RequestError kBadHandshakeMethod{2, "Bad handshake method", 400};
inline constexpr RequestError kBadRequest{3, "Bad request", 400};
inline constexpr RequestError kForbidden{4, "Forbidden", 403};
inline constexpr RequestError kUnsupportedProtocolVersion{5, "Unsupported protocol version", 400};

// `{"code":N,"message":"..."}`, the body of every Engine.IO error response.
std::string ErrorBody(const RequestError& error);

// What an HTTP request to the Engine.IO path asks for, taken from its query.
struct RequestTarget {
  Transport transport = Transport::kPolling;
  std::string sid;  // Empty: a new session (handshake).
};

struct RequestFacts {
  std::string_view method;  // "GET", "POST", ...
  bool websocket_upgrade = false;
  std::optional<std::string_view> eio;
  std::optional<std::string_view> transport;
  std::optional<std::string_view> sid;
};

// Checks protocol version, transport and method the way the reference server
// does; on success says which transport and session the request is for.
struct VerifyResult {
  RequestTarget target;
  const RequestError* error = nullptr;
};
VerifyResult VerifyRequest(const RequestFacts& facts);

struct ServerOptions {
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds upgrade_timeout{10000};
  size_t max_payload = 1000000;  // maxHttpBufferSize: POST bodies and WebSocket messages.
};

// The open packet (`0{...}`) for a new session.
std::string OpenPacket(std::string_view sid, Transport transport, const ServerOptions& options);

}  // namespace roomcast::engineio
