#include "clients/cli/tail.h"

#include <openssl/ssl.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>

#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/loopback.h"
#include "server/base/string_view.h"
#include "server/codec/engineio_packet.h"
#include "server/codec/socketio_packet.h"

namespace roomcast::cli {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

// {"event":...,"args":[...]}; binary attachments as {"base64":...} in place of their placeholders.
std::string EventLine(const socketio::Packet& packet) {
  json::array args = packet.data->as_array();
  json::value name = args.front();
  args.erase(args.begin());
  std::function<void(json::value&)> inline_binary = [&](json::value& value) {
    if (json::object* object = value.if_object()) {
      const json::value* flag = object->if_contains("_placeholder");
      const json::value* num = object->if_contains("num");
      if (flag && flag->is_bool() && num && num->is_int64() &&
          static_cast<size_t>(num->as_int64()) < packet.attachments.size()) {
        value = json::object{{"base64", absl::Base64Escape(packet.attachments[num->as_int64()])}};
        return;
      }
      for (auto& [key, child] : *object) {
        inline_binary(child);
      }
    } else if (json::array* array = value.if_array()) {
      for (json::value& child : *array) {
        inline_binary(child);
      }
    }
  };
  for (json::value& arg : args) {
    inline_binary(arg);
  }
  return json::serialize(json::object{{"event", name}, {"args", std::move(args)}});
}

constexpr char kPath[] = "/socket.io/?EIO=4&transport=websocket";

absl::Status HandshakeFailed(const TailOptions& options, const beast::error_code& ec) {
  return absl::UnavailableError(
      absl::StrCat("WebSocket to ", options.socket_url, ": ", ec.message()));
}

// The Socket.IO session over an open WebSocket, plain or TLS.
template <class WebSocket>
absl::Status Session(WebSocket& ws, const TailOptions& options,
                     const std::function<void(const std::string&)>& on_event,
                     const std::function<void(const std::string&)>& on_connected) {
  beast::error_code ec;
  json::object auth;
  if (!options.rooms.empty()) {
    auth["rooms"] = json::value_from(options.rooms);
  }
  if (!options.token.empty()) {
    auth["token"] = options.token;
  }
  socketio::Packet connect;
  connect.type = socketio::PacketType::kConnect;
  connect.nsp = options.nsp;
  connect.data = std::move(auth);

  socketio::Decoder decoder;
  beast::flat_buffer buffer;
  while (true) {
    ws.read(buffer, ec);
    if (ec == websocket::error::closed) {
      return absl::OkStatus();
    }
    if (ec) {
      return absl::UnavailableError(absl::StrCat("connection lost: ", ec.message()));
    }
    const std::string frame = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    absl::StatusOr<std::optional<socketio::Packet>> decoded = std::optional<socketio::Packet>();
    if (!ws.got_text()) {
      decoded = decoder.OnBinary(frame);
    } else {
      absl::StatusOr<engineio::Packet> packet = engineio::DecodeTextPacket(frame);
      if (!packet.ok()) {
        return packet.status();
      }
      ws.text(true);
      if (packet->type == engineio::PacketType::kOpen) {
        ws.write(boost::asio::buffer(absl::StrCat("4", socketio::EncodeText(connect))), ec);
      } else if (packet->type == engineio::PacketType::kPing) {
        ws.write(boost::asio::buffer(std::string("3")), ec);
      } else if (packet->type == engineio::PacketType::kClose) {
        return absl::OkStatus();
      } else if (packet->type == engineio::PacketType::kMessage) {
        decoded = decoder.OnText(packet->data);
      }
      if (ec) {
        return absl::UnavailableError(absl::StrCat("write: ", ec.message()));
      }
    }
    if (!decoded.ok()) {
      return decoded.status();
    }
    if (!*decoded) {
      continue;
    }
    const socketio::Packet& packet = **decoded;
    switch (packet.type) {
      case socketio::PacketType::kConnect:
        on_connected(packet.data ? json::serialize(*packet.data) : "{}");
        break;
      case socketio::PacketType::kConnectError:
        return absl::PermissionDeniedError(
            absl::StrCat("connection refused: ", packet.data ? json::serialize(*packet.data) : ""));
      case socketio::PacketType::kDisconnect:
        return absl::UnavailableError("disconnected by the server");
      case socketio::PacketType::kEvent:
      case socketio::PacketType::kBinaryEvent:
        on_event(EventLine(packet));
        break;
      default:
        break;
    }
  }
}

}  // namespace

absl::Status Tail(const TailOptions& options,
                  const std::function<void(const std::string&)>& on_event,
                  const std::function<void(const std::string&)>& on_connected) {
  auto url = boost::urls::parse_uri(options.socket_url);
  const bool wss = url && url->scheme() == "https";
  if (!url || (url->scheme() != "http" && !wss)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SOCKET_SERVER_URL must look like http(s)://host:port, got '", options.socket_url, "'"));
  }
  if (wss != (options.tls != nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SOCKET_SERVER_URL '", options.socket_url,
        "' and the TLS settings disagree: with TLS on it must be https:// (no plain fallback)"));
  }
  std::string host = url->host_address();
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  const uint16_t port = url->has_port() ? url->port_number() : (wss ? 443 : 80);
  auto endpoints = ResolveAll(host, port);
  if (!endpoints.ok()) {
    return endpoints.status();
  }
  boost::asio::io_context io;
  absl::StatusOr<boost::asio::ip::tcp::socket> socket =
      ConnectFirst(io, *endpoints, std::chrono::seconds(5));
  if (!socket.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", options.socket_url, ": ", socket.status().message()));
  }
  const std::string authority = absl::StrCat(host, ":", port);
  beast::error_code ec;
  if (!wss) {
    websocket::stream<beast::tcp_stream> ws(*std::move(socket));
    ws.handshake(authority, kPath, ec);
    return ec ? HandshakeFailed(options, ec) : Session(ws, options, on_event, on_connected);
  }
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(*std::move(socket), *options.tls);
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(5));
  SSL_set_tlsext_host_name(ws.next_layer().native_handle(), host.c_str());
  ws.next_layer().set_verify_callback(boost::asio::ssl::host_name_verification(host));
  ws.next_layer().handshake(boost::asio::ssl::stream_base::client, ec);
  if (!ec) {
    ws.handshake(authority, kPath, ec);
  }
  beast::get_lowest_layer(ws).expires_never();
  return ec ? HandshakeFailed(options, ec) : Session(ws, options, on_event, on_connected);
}

}  // namespace roomcast::cli
