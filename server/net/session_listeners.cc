#include "server/core/string_view.h"
#include "server/net/session_listeners.h"

#include "absl/strings/str_cat.h"

namespace roomcast::net {

SocketIoListener::SocketIoListener(EngineSession& session, const socketio::Namespaces& namespaces,
                                   core::Counters& counters,
                                   std::chrono::milliseconds connect_timeout)
    : connection_(namespaces, session, session.shard().rooms(), counters, session.TakeHandshake()),
      connect_timer_(std::make_unique<decltype(connect_timer_)::element_type>(
          session.shard().io(), connect_timeout)) {
  connect_timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec) {  // Cancelled when the listener goes away; `this` is only used if not.
      connection_.OnConnectTimeout();
    }
  });
}

void SocketIoListener::OnMessage(std::string_view data, bool binary) {
  if (binary) {
    connection_.OnBinary(data);
  } else {
    connection_.OnText(data);
  }
  if (connect_timer_ && connection_.socket_count() > 0) {
    StopConnectTimer();
  }
}

void SocketIoListener::StopConnectTimer() {
  if (connect_timer_) {
    connect_timer_->cancel();
    connect_timer_.reset();
  }
}

void SocketIoListener::OnClose(std::string_view reason) {
  StopConnectTimer();
  connection_.OnClose(reason);
}

void EchoListener::OnMessage(std::string_view data, bool binary) {
  session_.Send(binary ? core::MakePacket("", {std::string(data)})
                       : core::MakePacket(absl::StrCat("4", ToAbsl(data))));
}

}  // namespace roomcast::net
