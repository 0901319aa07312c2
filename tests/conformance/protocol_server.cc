// The Socket.IO project's protocol test server, built from Roomcast's layers:
// raw Engine.IO echo at /engine.io/, and Socket.IO at /socket.io/ answering
// `message` with `message-back`, `message-with-ack` with an ack, and
// emitting `auth` on connect, for `/` and `/custom`.
#include <csignal>
#include <cstdio>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "server/base/counters.h"
#include "server/net/engine_endpoint.h"
#include "server/net/http_server.h"
#include "server/net/session_listeners.h"
#include "server/observe/logging.h"
#include "server/socketio/handler.h"
#include "server/socketio/socket.h"

ABSL_FLAG(int32_t, port, 3000, "Port to listen on (0 picks a free one).");

namespace {

using roomcast::socketio::Event;
using roomcast::socketio::Socket;

class ProtocolHandler final : public roomcast::socketio::Handler {
 public:
  void OnConnected(Socket& socket) override {
    socket.Emit("auth", boost::json::array{socket.auth()});
  }
  void OnEvent(Socket& socket, Event event) override {
    if (event.name == "message") {
      socket.Emit("message-back", event.args, std::move(event.attachments));
    } else if (event.name == "message-with-ack" && event.ack_id) {
      socket.Ack(*event.ack_id, event.args, std::move(event.attachments));
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  roomcast::observe::InitLogging("text", "info");

  roomcast::net::EngineOptions options;
  options.protocol.ping_interval = std::chrono::milliseconds(300);
  options.protocol.ping_timeout = std::chrono::milliseconds(200);
  options.protocol.max_payload = 1000000;
  constexpr auto kConnectTimeout = std::chrono::milliseconds(1000);

  roomcast::base::Counters counters;
  ProtocolHandler handler;
  roomcast::socketio::Namespaces namespaces;
  namespaces.Add("/", handler);
  namespaces.Add("/custom", handler);

  roomcast::net::HttpRules rules;
  rules.body_limit = options.protocol.max_payload;
  roomcast::net::HttpServer http(/*shard_count=*/1, rules);
  roomcast::net::EngineEndpoint engine_io(
      http.shards(), options, roomcast::net::CorsPolicy::Wildcard(),
      [](roomcast::net::EngineSession& session) {
        return std::make_unique<roomcast::net::EchoListener>(session);
      },
      counters);
  roomcast::net::EngineEndpoint socket_io(
      http.shards(), options, roomcast::net::CorsPolicy::Wildcard(),
      [&](roomcast::net::EngineSession& session) {
        return std::make_unique<roomcast::net::SocketIoListener>(session, namespaces, counters,
                                                                 kConnectTimeout);
      },
      counters);
  http.router().AddPrefix("/engine.io/", engine_io);
  http.router().AddPrefix("/socket.io/", socket_io);

  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGTERM, SIGINT);
  const int32_t port = absl::GetFlag(FLAGS_port);
  if (absl::Status status = http.Listen("::", static_cast<uint16_t>(port)); !status.ok()) {
    std::fprintf(stderr, "protocol_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  http.Start();
  spdlog::info("protocol_server: listening port={}", http.port());
  signals.async_wait([](const boost::system::error_code&, int) {});
  signals_io.run();
  http.Shutdown(std::chrono::milliseconds(0));
  return 0;
}
