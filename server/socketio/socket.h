#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "server/base/token_bucket.h"
#include "server/core/member.h"
#include "server/core/room_index.h"
#include "server/core/session_store.h"
#include "server/socketio/handler.h"
#include "server/socketio/link.h"

namespace roomcast::socketio {

class Connection;

// One client's membership of one namespace (server side `socket`).
class Socket final : public core::Member, public std::enable_shared_from_this<Socket> {
 public:
  using AckCallback =
      absl::AnyInvocable<void(boost::json::array args, std::vector<std::string> attachments) &&>;

  Socket(std::string id, std::string nsp, boost::json::object auth, Link& link,
         core::RoomIndex& rooms, Connection& connection);
  ~Socket() override;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  const std::string& id() const override { return id_; }
  const std::string& nsp() const { return nsp_; }
  const boost::json::object& auth() const { return auth_; }
  const Handshake& handshake() const;
  const Link& link() const { return link_; }
  // Who the client proved to be at CONNECT, when authentication is on.
  bool authenticated() const { return identity_ != nullptr; }
  const std::string& user_id() const;
  const boost::json::object& claims() const;
  // The socket's event rate budget, kept here for whoever enforces it.
  std::optional<base::TokenBucket>& event_budget() { return event_budget_; }
  void set_identity(std::string user_id, boost::json::object claims) {
    identity_ = std::make_unique<Identity>(Identity{std::move(user_id), std::move(claims)});
  }
  // Every room the socket is in, its own id room included, sorted.
  const absl::btree_set<std::string>& rooms() const { return rooms_; }

  bool Deliver(const core::SharedPacket& packet) override;
  std::vector<std::string> RoomNames() const override { return {rooms_.begin(), rooms_.end()}; }
  void JoinRoom(std::string_view room) override { Join(room); }
  void LeaveRoom(std::string_view room) override;
  void Disconnect(bool close_connection) override;
  uint64_t Ask(std::string_view event, std::string_view arg_json, AnswerHandler on_answer) override;
  void Forget(uint64_t id) override;
  void set_trace(std::string_view traceparent) override { traceparent_ = traceparent; }
  const std::string& traceparent() const { return traceparent_; }

  void Emit(std::string_view event, const boost::json::array& args,
            std::vector<std::string> attachments = {});
  // Returns the ack's id.
  uint64_t EmitWithAck(std::string_view event, const boost::json::array& args,
                       std::vector<std::string> attachments, AckCallback on_ack);
  void Ack(uint64_t id, const boost::json::array& args, std::vector<std::string> attachments = {});

  // A function, callable from any thread, that runs a task later on this
  // socket's thread if the socket is still connected by then.
  using Task = absl::AnyInvocable<void(Socket&) &&>;
  std::function<void(Task)> Deferred();

  void Join(std::string_view room);
  void Leave(std::string_view room);
  // `task` runs on this socket's thread once this node receives the traffic
  // of every one of `rooms` from the rest of the cluster (at once on a
  // single node), or with why it cannot; not at all if the socket is gone.
  void WhenReceiving(const std::vector<std::string>& rooms,
                     absl::AnyInvocable<void(Socket&, absl::Status) &&> task);

  // Makes the session recoverable under `pid` (connection state recovery):
  // the store keeps it while connected and, after an unexpected
  // disconnect, for the recovery window.
  void EnableRecovery(std::string pid, core::SessionStore& store);
  // A recovering socket holds what it is delivered (and its CONNECT reply)
  // until Release has sent what it missed: set before Attach.
  void Hold();
  // Sends `missed`, the CONNECT reply, then what was held that the replay
  // (which covered the log up to `replayed_upto`) did not already carry.
  void Release(const std::vector<core::SharedPacket>& missed, uint64_t replayed_upto);

  // Joins its id room and the namespace; answers the CONNECT (unless held).
  void Attach();
  // Leaves every room and the namespace; nothing is delivered after this.
  // A recoverable session (`resumable`: it went away unexpectedly) is kept
  // for the window, any other forgotten.
  void Detach(bool resumable = false);
  // An ACK from the client for one of our EmitWithAck calls.
  void OnAck(uint64_t id, boost::json::array args, std::vector<std::string> attachments);

 private:
  void SendPacket(int type, std::optional<uint64_t> ack_id, const boost::json::array& args,
                  std::vector<std::string> attachments);
  void SendConnectReply();
  core::SessionRecord Record() const;
  // Tells the session store about a room change, once per task.
  void RoomsChanged();

  std::string id_;
  std::string nsp_;
  boost::json::object auth_;
  // Held apart (and only once authenticated): most sockets of a public
  // namespace never have one.
  struct Identity {
    std::string user_id;
    boost::json::object claims;
  };
  std::unique_ptr<Identity> identity_;
  std::optional<base::TokenBucket> event_budget_;
  Link& link_;
  core::RoomIndex& index_;
  Connection& connection_;
  absl::btree_set<std::string> rooms_;
  bool attached_ = false;
  uint64_t next_ack_id_ = 0;
  std::string traceparent_;  // Empty until a traced call asks it.
  // Only while connection state recovery is on.
  struct Resumable {
    std::string pid;
    std::string owner;  // This incarnation, in the store.
    core::SessionStore* store;
    bool update_posted = false;
    // Set while held: what arrived before Release.
    std::unique_ptr<std::vector<core::SharedPacket>> held;
  };
  std::unique_ptr<Resumable> resumable_;
  // Acks the server awaits from the client; made by the first EmitWithAck.
  std::unique_ptr<absl::flat_hash_map<uint64_t, AckCallback>> pending_acks_;
};

}  // namespace roomcast::socketio
