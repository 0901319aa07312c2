#include "server/socketio/connection.h"
#include "server/base/string_view.h"

#include <boost/json.hpp>

#include "server/base/ids.h"
#include "server/socketio/recovery.h"

namespace roomcast::socketio {
namespace {

// The disconnects a session may come back from (Socket.IO's
// RECOVERABLE_DISCONNECT_REASONS, plus a slow consumer, which the log lets
// catch up): the client did not mean to leave.
bool IsResumable(std::string_view reason) {
  return reason == "transport close" || reason == "transport error" || reason == "ping timeout" ||
         reason == "server shutting down" || reason == "slow consumer";
}

}  // namespace

Connection::Connection(const Namespaces& namespaces, Link& link, core::RoomIndex& rooms,
                       base::Counters& counters, Handshake handshake)
    : namespaces_(namespaces),
      link_(link),
      rooms_(rooms),
      counters_(counters),
      handshake_(handshake.empty() ? nullptr
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
      if (Observer* observer = namespaces_.watcher()) {
        observer->OnEventReceived(*socket, event);
      }
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
  if (sockets_.contains(packet.nsp) || claiming_.contains(packet.nsp)) {
    Fail("CONNECT for a namespace already connected");
    return;
  }
  if (namespaces_.Find(packet.nsp) == nullptr) {
    RefuseConnect(packet.nsp, "Invalid namespace");
    return;
  }
  boost::json::object auth;
  if (packet.data) {
    auth = std::move(packet.data->as_object());
  }
  Recovery* recovery = namespaces_.recovery();
  const boost::json::value* pid = auth.if_contains("pid");
  if (recovery == nullptr || pid == nullptr || !pid->is_string()) {
    Connect(packet.nsp, std::move(auth), std::nullopt, std::nullopt);
    return;
  }
  // A returning client: its session, if the store still has it, decides.
  std::optional<core::StreamPosition> from;
  if (const boost::json::value* offset = auth.if_contains("offset")) {
    from = offset->is_string() ? Recovery::DecodeOffset(offset->as_string()) : std::nullopt;
    if (!from) {
      // Not an offset this server gave (socket.io-client takes any trailing
      // string argument for one): where the client stands is unknown.
      base::Counters::Bump(counters_.sessions_not_recovered);
      Connect(packet.nsp, std::move(auth), std::nullopt, std::nullopt);
      return;
    }
  }
  claiming_.insert(packet.nsp);
  recovery->sessions().Claim(
      packet.nsp, std::string(pid->as_string()),
      [poster = link_.Poster(), alive = std::weak_ptr<bool>(alive_), this, nsp = packet.nsp,
       auth = std::move(auth), from](std::optional<core::SessionRecord> record) mutable {
        poster([alive, this, nsp = std::move(nsp), auth = std::move(auth), from,
                record = std::move(record)]() mutable {
          if (alive.expired() || closed_) {
            return;
          }
          claiming_.erase(nsp);
          if (!record) {
            base::Counters::Bump(counters_.sessions_not_recovered);  // Unknown or expired.
          }
          Connect(nsp, std::move(auth), std::move(record), from);
        });
      });
}

void Connection::Connect(const std::string& nsp, boost::json::object auth,
                         std::optional<core::SessionRecord> restored,
                         const std::optional<core::StreamPosition>& from) {
  Handler* handler = namespaces_.Find(nsp);
  Recovery* recovery = namespaces_.recovery();
  auto socket = std::make_shared<Socket>(restored ? restored->sid : base::NewId(), nsp,
                                         restored ? auth : std::move(auth), link_, rooms_, *this);
  if (absl::Status status = handler->Authorize(*socket); !status.ok()) {
    if (restored) {
      recovery->sessions().Restore(*restored);  // Its client may come back with a fresh token.
    }
    RefuseConnect(nsp, ToStd(status.message()));
    return;
  }
  if (restored && restored->user_id != socket->user_id()) {
    // Authentication still applies: another user never takes a session over
    // (and its own user may still come back for it).
    base::Counters::Bump(counters_.sessions_not_recovered);
    recovery->sessions().Restore(*restored);
    Connect(nsp, boost::json::object(socket->auth()), std::nullopt, std::nullopt);
    return;
  }
  if (recovery != nullptr) {
    socket->EnableRecovery(restored ? restored->pid : base::NewId(), recovery->sessions());
  }
  if (restored) {
    for (std::string& room : handler->RestorableRooms(*socket, std::move(restored->rooms))) {
      socket->Join(room);
    }
    socket->Hold();
  }
  ever_connected_ = true;
  sockets_.emplace(nsp, socket);
  socket->Attach();
  base::Counters::Bump(counters_.sockets_connected);
  if (Observer* observer = namespaces_.watcher()) {
    observer->OnSocketConnected(*socket);
  }
  if (!restored) {
    handler->OnConnected(*socket);
    return;
  }
  // Live events are held from here on; the log then supplies what came
  // before, so nothing falls in between.
  core::StreamPosition resume_from = from.value_or(restored->joined);
  const std::vector<std::string> rooms(socket->rooms().begin(), socket->rooms().end());
  socket->WhenReceiving(rooms, [recovery, resume_from, alive = std::weak_ptr<bool>(alive_), this](
                                   Socket& socket, const absl::Status& status) {
    if (!status.ok()) {
      FinishRecovery(socket.nsp(), std::nullopt, 0);
      return;
    }
    recovery->Missed(
        socket.nsp(), resume_from, socket.rooms(),
        [poster = link_.Poster(), alive, this, nsp = socket.nsp()](
            std::optional<std::vector<core::SharedPacket>> missed, uint64_t upto) mutable {
          poster([alive, this, nsp = std::move(nsp), missed = std::move(missed), upto]() mutable {
            if (!alive.expired() && !closed_) {
              FinishRecovery(nsp, std::move(missed), upto);
            }
          });
        });
  });
}

void Connection::FinishRecovery(const std::string& nsp,
                                std::optional<std::vector<core::SharedPacket>> missed,
                                uint64_t replayed_upto) {
  auto it = sockets_.find(nsp);
  if (it == sockets_.end()) {
    return;
  }
  std::shared_ptr<Socket> socket = it->second;
  if (missed) {
    base::Counters::Bump(counters_.sessions_recovered);
    socket->Release(*missed, replayed_upto);
    namespaces_.Find(nsp)->OnConnected(*socket);
    return;
  }
  // Never a partial replay passed off as complete: a fresh session instead,
  // which the client sees (a new pid) and its app can resync.
  base::Counters::Bump(counters_.sessions_not_recovered);
  boost::json::object auth = socket->auth();
  sockets_.erase(it);
  socket->Detach();
  base::Counters::Bump(counters_.sockets_disconnected);
  link_.Poster()([socket = std::move(socket)] {});  // The teardown rule (RemoveSocket).
  Connect(nsp, std::move(auth), std::nullopt, std::nullopt);
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
  socket->Detach(IsResumable(reason));
  base::Counters::Bump(counters_.sockets_disconnected);
  if (Observer* observer = namespaces_.watcher()) {
    observer->OnSocketDisconnected(*socket, reason);
  }
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
