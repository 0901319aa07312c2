#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "server/core/counters.h"
#include "server/net/engine_session.h"
#include "server/socketio/connection.h"
#include "server/socketio/handler.h"

namespace roomcast::net {

// Socket.IO over an Engine.IO session, with the connect timeout.
class SocketIoListener final : public SessionListener {
 public:
  SocketIoListener(EngineSession& session, const socketio::Namespaces& namespaces,
                   core::Counters& counters, std::chrono::milliseconds connect_timeout);

  void OnMessage(std::string_view data, bool binary) override;
  void OnClose(std::string_view reason) override;

 private:
  void StopConnectTimer();

  socketio::Connection connection_;
  // Until the first namespace connects; then gone, so an idle connection
  // holds no timer for it.
  std::unique_ptr<boost::asio::basic_waitable_timer<
      std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
      boost::asio::io_context::executor_type>>
      connect_timer_;
};

// Raw Engine.IO echo: every message goes back as it came (conformance profile).
class EchoListener final : public SessionListener {
 public:
  explicit EchoListener(EngineSession& session) : session_(session) {}

  void OnMessage(std::string_view data, bool binary) override;
  void OnClose(std::string_view reason) override {}

 private:
  EngineSession& session_;
};

}  // namespace roomcast::net
