#pragma once

#include <chrono>
#include <memory>

#include "server/base/counters.h"
#include "server/net/engine_session.h"
#include "server/socketio/connection.h"
#include "server/socketio/handler.h"

namespace roomcast::net {

// Socket.IO over an Engine.IO session, with the connect timeout.
class SocketIoListener final : public SessionListener {
 public:
  SocketIoListener(EngineSession& session, const socketio::Namespaces& namespaces,
                   base::Counters& counters, std::chrono::milliseconds connect_timeout);

  void OnMessage(std::string_view data, bool binary) override;
  void OnClose(std::string_view reason) override;
  // connectTimeout passed (the session's listener deadline).
  void OnDeadline() override;

 private:
  EngineSession& session_;
  socketio::Connection connection_;
  // Until the first namespace connects.
  bool awaiting_connect_ = true;
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
