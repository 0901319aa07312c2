#pragma once

#include <string>
#include <vector>

#include "server/auth/authenticator.h"
#include "server/auth/room_policy.h"
#include "server/base/counters.h"
#include "server/core/client_event.h"
#include "server/core/emitter.h"
#include "server/socketio/handler.h"

namespace roomcast::rooms {

// Roomcast's answers to browser events on every namespace: `join` and
// `leave` (a room or a list), `rooms` (what am I in), and, when enabled,
// `broadcast` (fan out an event, for tests and debugging). Rooms may also be
// requested in the CONNECT auth payload as {"rooms":[...]}. Every other
// event is the services' (the client event sink), with the socket's
// presence when a service follows it.
class RoomEvents final : public socketio::Handler {
 public:
  struct Options {
    size_t max_rooms_per_socket = 1000;
    bool enable_client_broadcast = false;
    // Who may connect: every CONNECT must authenticate, except to these namespaces.
    const auth::Authenticator* authenticator = nullptr;
    std::vector<std::string> public_namespaces;
    // Which rooms an authenticated client may join by itself.
    auth::RoomPolicy room_policy;
    double events_per_second = 0;  // Per socket; 0 = no limit.
    // Where every other event goes (and presence, when a service follows
    // it); none: every other event is answered `unavailable`.
    core::ClientEventSink* client_events = nullptr;
  };

  RoomEvents(core::Emitter& emitter, base::Counters& counters, Options options)
      : emitter_(emitter), counters_(counters), options_(std::move(options)) {}

  absl::Status Authorize(socketio::Socket& socket) override;
  std::vector<std::string> RestorableRooms(const socketio::Socket& socket,
                                           std::vector<std::string> rooms) override;
  void OnConnected(socketio::Socket& socket) override;
  void OnEvent(socketio::Socket& socket, socketio::Event event) override;
  void OnDisconnect(socketio::Socket& socket, std::string_view reason) override;

 private:
  absl::Status Authenticate(socketio::Socket& socket);
  // The first of `rooms` the socket may not join, with the refusal.
  std::optional<std::pair<std::string, std::string>> FirstForbidden(
      const socketio::Socket& socket, const std::vector<std::string>& rooms) const;
  void Join(socketio::Socket& socket, const socketio::Event& event);
  void Leave(socketio::Socket& socket, const socketio::Event& event);
  void Broadcast(socketio::Socket& socket, socketio::Event event);
  void ToServices(socketio::Socket& socket, socketio::Event event);
  // A presence change, when some service follows it.
  void Presence(const socketio::Socket& socket, core::ClientEvent::Kind kind,
                const std::vector<std::string>& rooms, std::string_view reason = {});

  core::Emitter& emitter_;
  base::Counters& counters_;
  Options options_;
};

}  // namespace roomcast::rooms
