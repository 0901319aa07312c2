#include "server/socketio/connection.h"
#include "server/base/string_view.h"

#include <boost/json.hpp>

#include "server/base/ids.h"

namespace roomcast::socketio {

Connection::Connection(const Namespaces& namespaces, Link& link, core::RoomIndex& rooms,
                       base::Counters& counters, Handshake handshake)
    : namespaces_(namespaces),
      link_(link),
      rooms_(rooms),
      counters_(counters),
      handshake_(handshake.authorization.empty() && handshake.cookie.empty()
                     ? nullptr
                     : std::make_unique<const Handshake>(std::move(handshake))),
      decoder_(namespaces.max_attachments()) {}

const Handshake& Connection::handshake() const {
  static const Handshake kNone;
  return handshake_ ? *handshake_ : kNone;
}

Connection::~Connection() { OnClose("transport close"); }

void Connection::OnText(std::string_view text) { OnDecoded(decoder_.OnText(text)); }

void Connection::OnBinary(std::string_view bytes) { OnDecoded(decoder_.OnBinary(bytes)); }

void Connection::OnDecoded(absl::StatusOr<std::optional<Packet>> packet) {
  if (!packet.ok()) {
    Fail(ToStd(packet.status().message()));
  } else if (*packet) {
    OnPacket(**std::move(packet));
  }
}

void Connection::Fail(std::string_view why) {
  base::Counters::Bump(counters_.protocol_errors);
  link_.Close("parse error");
}

void Connection::OnPacket(Packet packet) {
  if (closed_) {
    return;
  }
  if (packet.type == PacketType::kConnect) {
    OnConnect(std::move(packet));
    return;
  }
  auto it = sockets_.find(packet.nsp);
  if (it == sockets_.end() || packet.type == PacketType::kConnectError) {
    // A packet for a namespace the client never joined.
    Fail("packet for a namespace that is not connected");
    return;
  }
  std::shared_ptr<Socket> socket = it->second;  // Kept alive while handlers run.
  switch (packet.type) {
    case PacketType::kDisconnect:
      RemoveSocket(packet.nsp, kReasonClientDisconnect);
      return;
    case PacketType::kEvent:
    case PacketType::kBinaryEvent: {
      base::Counters::Bump(counters_.client_events);
      boost::json::array& array = packet.data->as_array();
      Event event;
      event.name = array.front().is_string() ? std::string(array.front().as_string())
                                             : boost::json::serialize(array.front());
      event.args = boost::json::array(array.begin() + 1, array.end());
      event.attachments = std::move(packet.attachments);
      event.ack_id = packet.id;
      namespaces_.Find(socket->nsp())->OnEvent(*socket, std::move(event));
      return;
    }
    case PacketType::kAck:
    case PacketType::kBinaryAck:
      if (packet.id) {
        socket->OnAck(*packet.id, std::move(packet.data->as_array()),
                      std::move(packet.attachments));
      }
      return;
    default:
      Fail("unexpected packet");
  }
}

void Connection::OnConnect(Packet packet) {
  if (sockets_.contains(packet.nsp)) {
    Fail("CONNECT for a namespace already connected");
    return;
  }
  Handler* handler = namespaces_.Find(packet.nsp);
  if (handler == nullptr) {
    RefuseConnect(packet.nsp, "Invalid namespace");
    return;
  }
  boost::json::object auth;
  if (packet.data) {
    auth = std::move(packet.data->as_object());
  }
  auto socket =
      std::make_shared<Socket>(base::NewId(), packet.nsp, std::move(auth), link_, rooms_, *this);
  if (absl::Status status = handler->Authorize(*socket); !status.ok()) {
    RefuseConnect(packet.nsp, ToStd(status.message()));
    return;
  }
  ever_connected_ = true;
  sockets_.emplace(packet.nsp, socket);
  socket->Attach();
  base::Counters::Bump(counters_.sockets_connected);
  handler->OnConnected(*socket);
}

void Connection::RefuseConnect(std::string_view nsp, std::string_view message) {
  base::Counters::Bump(counters_.connect_errors);
  Packet refusal;
  refusal.type = PacketType::kConnectError;
  refusal.nsp = std::string(nsp);
  refusal.data = boost::json::object{{"message", message}};
  link_.Send(core::MakePacket(EncodeMessage(refusal)));
}

// `nsp` by value: callers pass names that live in the socket or the map entry erased here.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void Connection::RemoveSocket(std::string nsp, std::string_view reason) {
  auto it = sockets_.find(nsp);
  if (it == sockets_.end()) {
    return;
  }
  std::shared_ptr<Socket> socket = std::move(it->second);
  sockets_.erase(it);
  socket->Detach();
  base::Counters::Bump(counters_.sockets_disconnected);
  if (Handler* handler = namespaces_.Find(nsp)) {
    handler->OnDisconnect(*socket, reason);
  }
  // The teardown rule: the socket may be on the stack above us (its Deliver
  // found the queue full; its Disconnect was called): freed in a later task.
  link_.Poster()([socket = std::move(socket)] {});
}

void Connection::Disconnect(const std::string& nsp) {
  if (!sockets_.contains(nsp)) {
    return;
  }
  Packet disconnect;
  disconnect.type = PacketType::kDisconnect;
  disconnect.nsp = nsp;
  link_.Send(core::MakePacket(EncodeMessage(disconnect)));
  RemoveSocket(nsp, kReasonServerDisconnect);
}

void Connection::OnConnectTimeout() {
  if (!ever_connected_ && !closed_) {
    link_.Close("connect timeout");
  }
}

void Connection::OnClose(std::string_view reason) {
  if (closed_) {
    return;
  }
  closed_ = true;
  while (!sockets_.empty()) {
    RemoveSocket(sockets_.begin()->first, reason);
  }
}

}  // namespace roomcast::socketio
