#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "server/base/string_view.h"

namespace roomcast::socketio {

class Recovery;
class Socket;

// What the HTTP request that opened the connection said, for authentication.
struct Handshake {
  std::string authorization;  // The Authorization header.
  std::string cookie;         // The Cookie header.
  // Only while an observer wants them (the Admin UI shows them).
  std::string address;     // The client's address.
  std::string url;         // The request's target.
  std::string user_agent;  // The User-Agent header.
  int64_t issued_ms = 0;   // When the session opened, in Unix milliseconds.

  bool empty() const { return authorization.empty() && cookie.empty() && address.empty(); }
};

// An event a client sent, without its name in `args`.
struct Event {
  std::string name;
  boost::json::array args;  // Binary arguments are placeholders into `attachments`.
  std::vector<std::string> attachments;
  std::optional<uint64_t> ack_id;  // Set when the client waits for an ack.
};

// What an application does with the sockets of one namespace.
class Handler {
 public:
  virtual ~Handler() = default;
  // Decides a CONNECT before it is answered; an error refuses it with its message.
  virtual absl::Status Authorize(Socket& socket) { return absl::OkStatus(); }
  // Of a recovered session's rooms, those the socket (authorized again) may
  // still be in.
  virtual std::vector<std::string> RestorableRooms(const Socket& socket,
                                                   std::vector<std::string> rooms) {
    return rooms;
  }
  // After the CONNECT was answered.
  virtual void OnConnected(Socket& socket) {}
  virtual void OnEvent(Socket& socket, Event event) = 0;
  virtual void OnDisconnect(Socket& socket, std::string_view reason) {}
};

// Sees the sockets of every namespace come and go, change rooms and trade
// events (the Admin UI). Called on the socket's thread, only while
// watching() (an atomic load: all that is spent while nobody watches).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual bool watching() const = 0;
  // Attached (its CONNECT answered, or held while it recovers).
  virtual void OnSocketConnected(const Socket& socket) = 0;
  virtual void OnSocketDisconnected(const Socket& socket, std::string_view reason) = 0;
  virtual void OnRoomJoined(const Socket& socket, std::string_view room) = 0;
  virtual void OnRoomLeft(const Socket& socket, std::string_view room) = 0;
  virtual void OnEventReceived(const Socket& socket, const Event& event) = 0;
  // `message` is the encoded Socket.IO EVENT packet the socket was sent.
  virtual void OnEventSent(const Socket& socket, std::string_view message) = 0;
};

// The namespaces a server offers, each with its handler, and the limits
// every connection's decoder applies.
class Namespaces {
 public:
  // Binary attachments one packet may carry (the reference parser allows 10).
  size_t max_attachments() const { return max_attachments_; }
  void set_max_attachments(size_t max) { max_attachments_ = max; }

  // Connection state recovery, when it is on.
  Recovery* recovery() const { return recovery_; }
  void set_recovery(Recovery* recovery) { recovery_ = recovery; }

  // Who sees every socket's life, if anyone; null while nobody watches.
  Observer* watcher() const {
    return observer_ != nullptr && observer_->watching() ? observer_ : nullptr;
  }
  void set_observer(Observer* observer) { observer_ = observer; }

  void Add(const std::string& nsp, Handler& handler) { handlers_[nsp] = &handler; }
  Handler* Find(std::string_view nsp) const {
    auto it = handlers_.find(ToAbsl(nsp));
    return it == handlers_.end() ? nullptr : it->second;
  }

 private:
  absl::flat_hash_map<std::string, Handler*> handlers_;
  size_t max_attachments_ = 10;
  Recovery* recovery_ = nullptr;
  Observer* observer_ = nullptr;
};

}  // namespace roomcast::socketio
