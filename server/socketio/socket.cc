#include "server/socketio/socket.h"

#include <boost/json.hpp>

#include "server/base/ids.h"
#include "server/codec/socketio_packet.h"
#include "server/socketio/connection.h"

namespace roomcast::socketio {
namespace {

// Packets a recovering socket holds while its replay is read: more means it
// cannot keep up, and it closes (its client recovers again).
constexpr size_t kMaxHeld = 10000;

}  // namespace

Socket::Socket(std::string id, std::string nsp, boost::json::object auth, Link& link,
               core::RoomIndex& rooms, Connection& connection)
    : id_(std::move(id)),
      nsp_(std::move(nsp)),
      auth_(std::move(auth)),
      link_(link),
      index_(rooms),
      connection_(connection) {}

Socket::~Socket() { Detach(); }

bool Socket::Deliver(const core::SharedPacket& packet) {
  if (!attached_) {
    return false;
  }
  if (Observer* observer = connection_.namespaces().watcher()) {
    observer->OnEventSent(*this, packet->text);
  }
  if (resumable_ && resumable_->held) {
    if (resumable_->held->size() >= kMaxHeld) {
      connection_.CloseAll("slow consumer");  // It recovers again from its offset.
      return false;
    }
    resumable_->held->push_back(packet);
    return true;
  }
  return link_.Send(packet);
}

void Socket::EnableRecovery(std::string pid, core::SessionStore& store) {
  resumable_ =
      std::make_unique<Resumable>(Resumable{std::move(pid), base::NewId(), &store, false, nullptr});
}

void Socket::Hold() {
  if (resumable_) {
    resumable_->held = std::make_unique<std::vector<core::SharedPacket>>();
  }
}

void Socket::Release(const std::vector<core::SharedPacket>& missed, uint64_t replayed_upto) {
  if (!resumable_ || !resumable_->held) {
    return;
  }
  std::unique_ptr<std::vector<core::SharedPacket>> held = std::move(resumable_->held);
  // Socket.IO's order: what was missed, then the CONNECT reply (the client
  // hands the events to the app once connected).
  for (const core::SharedPacket& packet : missed) {
    link_.Send(packet);
  }
  SendConnectReply();
  for (const core::SharedPacket& packet : *held) {
    if (packet->offset == 0 || packet->offset > replayed_upto) {
      link_.Send(packet);
    }
  }
}

core::SessionRecord Socket::Record() const {
  core::SessionRecord record;
  record.nsp = nsp_;
  record.pid = resumable_->pid;
  record.sid = id_;
  record.user_id = user_id();
  record.rooms.assign(rooms_.begin(), rooms_.end());
  record.owner = resumable_->owner;
  return record;
}

void Socket::RoomsChanged() {
  if (!resumable_ || !attached_ || resumable_->update_posted) {
    return;
  }
  resumable_->update_posted = true;
  Deferred()([](Socket& socket) {
    socket.resumable_->update_posted = false;
    socket.resumable_->store->UpdateRooms(socket.Record());
  });
}

void Socket::SendPacket(int type, std::optional<uint64_t> ack_id, const boost::json::array& args,
                        std::vector<std::string> attachments) {
  Packet packet;
  const bool binary = !attachments.empty();
  packet.type =
      static_cast<PacketType>(binary ? type + 3 : type);  // EVENT->BINARY_EVENT, ACK->BINARY_ACK
  packet.nsp = nsp_;
  packet.id = ack_id;
  packet.data = args;
  packet.attachments = std::move(attachments);
  std::string text = EncodeMessage(packet);
  if (packet.type == PacketType::kEvent || packet.type == PacketType::kBinaryEvent) {
    if (Observer* observer = connection_.namespaces().watcher()) {
      observer->OnEventSent(*this, text);
    }
  }
  link_.Send(core::MakePacket(std::move(text), std::move(packet.attachments)));
}

namespace {

// `[event, args...]`, the payload of an EVENT.
boost::json::array EventPayload(std::string_view event, const boost::json::array& args) {
  boost::json::array full;
  full.reserve(args.size() + 1);
  full.emplace_back(event);
  full.insert(full.end(), args.begin(), args.end());
  return full;
}

}  // namespace

void Socket::Emit(std::string_view event, const boost::json::array& args,
                  std::vector<std::string> attachments) {
  SendPacket(static_cast<int>(PacketType::kEvent), std::nullopt, EventPayload(event, args),
             std::move(attachments));
}

const std::string& Socket::user_id() const {
  static const std::string kNone;
  return identity_ ? identity_->user_id : kNone;
}

const boost::json::object& Socket::claims() const {
  static const boost::json::object kNone;
  return identity_ ? identity_->claims : kNone;
}

uint64_t Socket::EmitWithAck(std::string_view event, const boost::json::array& args,
                             std::vector<std::string> attachments, AckCallback on_ack) {
  const uint64_t id = next_ack_id_++;
  if (!pending_acks_) {
    pending_acks_ = std::make_unique<absl::flat_hash_map<uint64_t, AckCallback>>();
  }
  pending_acks_->emplace(id, std::move(on_ack));
  SendPacket(static_cast<int>(PacketType::kEvent), id, EventPayload(event, args),
             std::move(attachments));
  return id;
}

uint64_t Socket::Ask(std::string_view event, std::string_view arg_json, AnswerHandler on_answer) {
  boost::json::array args;
  if (!arg_json.empty()) {
    boost::system::error_code error;
    args.push_back(boost::json::parse(arg_json, error));  // Checked by the control plane.
  }
  return EmitWithAck(
      event, args, {},
      [on_answer = std::move(on_answer)](const boost::json::array& answer,
                                         std::vector<std::string> attachments) mutable {
        std::move(on_answer)(boost::json::serialize(answer), std::move(attachments));
      });
}

void Socket::Forget(uint64_t id) {
  if (pending_acks_) {
    pending_acks_->erase(id);
  }
}

void Socket::Ack(uint64_t id, const boost::json::array& args,
                 std::vector<std::string> attachments) {
  SendPacket(static_cast<int>(PacketType::kAck), id, args, std::move(attachments));
}

void Socket::OnAck(uint64_t id, boost::json::array args, std::vector<std::string> attachments) {
  if (!pending_acks_) {
    return;  // Nothing awaited: the reference server ignores it too.
  }
  auto it = pending_acks_->find(id);
  if (it == pending_acks_->end()) {
    return;  // Unknown or already answered: the reference server ignores it too.
  }
  AckCallback callback = std::move(it->second);
  pending_acks_->erase(it);
  std::move(callback)(std::move(args), std::move(attachments));
}

std::function<void(Socket::Task)> Socket::Deferred() {
  return [poster = link_.Poster(), weak = weak_from_this()](Task task) {
    poster([weak, task = std::move(task)]() mutable {
      if (auto self = weak.lock(); self && self->attached_) {
        std::move(task)(*self);
      }
    });
  };
}

void Socket::WhenReceiving(const std::vector<std::string>& rooms,
                           absl::AnyInvocable<void(Socket&, absl::Status) &&> task) {
  core::RoomInterest* interest = index_.interest();
  if (interest == nullptr) {
    std::move(task)(*this, absl::OkStatus());
    return;
  }
  interest->WhenReceiving(
      nsp_, rooms, [deferred = Deferred(), task = std::move(task)](absl::Status status) mutable {
        deferred([status = std::move(status), task = std::move(task)](Socket& socket) mutable {
          std::move(task)(socket, std::move(status));
        });
      });
}

void Socket::Join(std::string_view room) {
  if (rooms_.emplace(room).second && attached_) {
    index_.Join(nsp_, room, this);
    RoomsChanged();
    if (Observer* observer = connection_.namespaces().watcher()) {
      observer->OnRoomJoined(*this, room);
    }
  }
}

void Socket::Leave(std::string_view room) {
  if (rooms_.erase(std::string(room)) > 0 && attached_) {
    index_.Leave(nsp_, room, this);
    RoomsChanged();
    if (Observer* observer = connection_.namespaces().watcher()) {
      observer->OnRoomLeft(*this, room);
    }
  }
}

const Handshake& Socket::handshake() const { return connection_.handshake(); }

void Socket::LeaveRoom(std::string_view room) {
  if (room != id_) {  // A socket always stays in its own room.
    Leave(room);
  }
}

void Socket::Disconnect(bool close_connection) {
  if (close_connection) {
    connection_.CloseAll("forced close");
  } else {
    connection_.Disconnect(nsp_);
  }
}

void Socket::Attach() {
  if (attached_) {
    return;
  }
  attached_ = true;
  rooms_.insert(id_);
  index_.AddMember(nsp_, this);
  for (const std::string& room : rooms_) {
    index_.Join(nsp_, room, this);
  }
  if (resumable_) {
    resumable_->store->Save(Record());
  }
  if (!resumable_ || !resumable_->held) {
    SendConnectReply();
  }
}

void Socket::SendConnectReply() {
  Packet reply;
  reply.type = PacketType::kConnect;
  reply.nsp = nsp_;
  boost::json::object data{{"sid", id_}};
  if (resumable_) {
    data["pid"] = resumable_->pid;
  }
  reply.data = std::move(data);
  link_.Send(core::MakePacket(EncodeMessage(reply)));
}

void Socket::Detach(bool resumable) {
  if (!attached_) {
    return;
  }
  if (resumable_) {
    if (resumable) {
      resumable_->store->Suspend(Record());
    } else {
      resumable_->store->Drop(Record());
    }
  }
  attached_ = false;
  const std::vector<std::string> rooms(rooms_.begin(), rooms_.end());
  index_.RemoveMember(nsp_, this, rooms);
  pending_acks_.reset();
}

}  // namespace roomcast::socketio
