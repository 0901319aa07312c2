#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/base/counters.h"
#include "server/codec/socketio_packet.h"
#include "server/core/room_index.h"
#include "server/core/session_store.h"
#include "server/socketio/handler.h"
#include "server/socketio/link.h"
#include "server/socketio/socket.h"

namespace roomcast::socketio {

inline constexpr std::string_view kReasonClientDisconnect = "client namespace disconnect";
inline constexpr std::string_view kReasonServerDisconnect = "server namespace disconnect";

// The Socket.IO side of one Engine.IO session: decodes its messages,
// connects namespaces and routes events, acks and disconnects to sockets.
// A packet that breaks the protocol closes this session and nothing else.
class Connection {
 public:
  Connection(const Namespaces& namespaces, Link& link, core::RoomIndex& rooms,
             base::Counters& counters, Handshake handshake = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void OnText(std::string_view text);
  void OnBinary(std::string_view bytes);
  // The Engine.IO session ended: every socket disconnects with `reason`.
  void OnClose(std::string_view reason);
  // connectTimeout passed: closes the session unless a namespace was connected.
  void OnConnectTimeout();

  // Server-side disconnect of one namespace (`41<nsp>` to the client).
  void Disconnect(const std::string& nsp);
  // Server-side close of the whole session.
  void CloseAll(std::string_view reason) { link_.Close(reason); }

  size_t socket_count() const { return sockets_.size(); }
  const Namespaces& namespaces() const { return namespaces_; }
  const Handshake& handshake() const;

 private:
  void OnDecoded(absl::StatusOr<std::optional<Packet>> packet);
  void OnPacket(Packet packet);
  void OnConnect(Packet packet);
  // Creates, authorizes and attaches the namespace's socket: a fresh one, or
  // the one `restored` describes (connection state recovery).
  void Connect(const std::string& nsp, boost::json::object auth,
               std::optional<core::SessionRecord> restored,
               const std::optional<core::StreamPosition>& from);
  // The recovering socket of `nsp` has read what it missed (nullopt: the log
  // no longer holds it all, so it starts afresh).
  void FinishRecovery(const std::string& nsp, std::optional<std::vector<core::SharedPacket>> missed,
                      uint64_t replayed_upto);
  void Fail(std::string_view why);
  void RefuseConnect(std::string_view nsp, std::string_view message);
  void RemoveSocket(std::string nsp,
                    std::string_view reason);  // By value: it may name a key it erases.

  const Namespaces& namespaces_;
  Link& link_;
  core::RoomIndex& rooms_;
  base::Counters& counters_;
  // Only when the upgrade carried credentials: most connections hold none.
  std::unique_ptr<const Handshake> handshake_;
  Decoder decoder_;
  bool ever_connected_ = false;
  bool closed_ = false;
  absl::flat_hash_map<std::string, std::shared_ptr<Socket>> sockets_;
  // Namespaces whose CONNECT waits for the session store.
  absl::flat_hash_set<std::string> claiming_;
  // Lets callbacks from other threads tell whether this connection still exists.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roomcast::socketio
