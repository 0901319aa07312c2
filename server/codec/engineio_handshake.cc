#include "server/codec/engineio_handshake.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"

namespace roomcast::engineio {

std::string_view TransportName(Transport transport) {
  return transport == Transport::kWebSocket ? "websocket" : "polling";
}

std::string ErrorBody(const RequestError& error) {
  boost::json::object body;
  body["code"] = error.code;
  body["message"] = error.message;
  return boost::json::serialize(body);
}

VerifyResult VerifyRequest(const RequestFacts& facts) {
  VerifyResult result;
  if (!facts.eio || *facts.eio != "4") {
    result.error = &kUnsupportedProtocolVersion;
    return result;
  }
  if (facts.transport == "polling") {
    result.target.transport = Transport::kPolling;
  } else if (facts.transport == "websocket") {
    result.target.transport = Transport::kWebSocket;
  } else {
    result.error = &kTransportUnknown;
    return result;
  }
  if (facts.sid) {
    result.target.sid = std::string(*facts.sid);
  }
  const bool is_websocket = result.target.transport == Transport::kWebSocket;
  // NOLINTNEXTLINE(bugprone-branch-clone): the order of the checks is the errors' priority.
  if (is_websocket != facts.websocket_upgrade) {
    // A websocket transport must be an upgrade request, and an upgrade must ask for websocket.
    result.error = &kBadRequest;
  } else if (result.target.sid.empty() && facts.method != "GET") {
    result.error = &kBadHandshakeMethod;
  } else if (!is_websocket && facts.method != "GET" && facts.method != "POST") {
    result.error = &kBadRequest;
  }
  return result;
}

std::string OpenPacket(std::string_view sid, Transport transport, const ServerOptions& options) {
  boost::json::object open;
  open["sid"] = sid;
  boost::json::array upgrades;
  if (transport == Transport::kPolling) {
    upgrades.emplace_back("websocket");
  }
  open["upgrades"] = std::move(upgrades);
  open["pingInterval"] = options.ping_interval.count();
  open["pingTimeout"] = options.ping_timeout.count();
  open["maxPayload"] = options.max_payload;
  return absl::StrCat("0", boost::json::serialize(open));
}

}  // namespace roomcast::engineio
