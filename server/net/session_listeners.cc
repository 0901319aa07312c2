#include "server/net/session_listeners.h"
#include "server/base/string_view.h"

namespace roomcast::net {

SocketIoListener::SocketIoListener(EngineSession& session, const socketio::Namespaces& namespaces,
                                   base::Counters& counters,
                                   std::chrono::milliseconds connect_timeout)
    : session_(session),
      connection_(namespaces, session, session.shard().rooms(), counters, session.TakeHandshake()) {
  session_.SetListenerDeadline(engineio::Clock::now() + connect_timeout);
}

void SocketIoListener::OnMessage(std::string_view data, bool binary) {
  if (binary) {
    connection_.OnBinary(data);
  } else {
    connection_.OnText(data);
  }
  if (awaiting_connect_ && connection_.socket_count() > 0 && !session_.closed()) {
    awaiting_connect_ = false;
    session_.SetListenerDeadline(engineio::Clock::time_point::max());
  }
}

void SocketIoListener::OnDeadline() {
  if (awaiting_connect_) {
    connection_.OnConnectTimeout();
  }
}

void SocketIoListener::OnClose(std::string_view reason) { connection_.OnClose(reason); }

void EchoListener::OnMessage(std::string_view data, bool binary) {
  session_.Send(
      binary ? core::MakePacket("", {std::string(data)})
             : core::MakePacket(engineio::EncodeTextPacket(engineio::PacketType::kMessage, data)));
}

}  // namespace roomcast::net
