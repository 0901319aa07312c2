#include "server/rooms/room_events.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/base/clock.h"
#include "server/base/string_view.h"
#include "server/core/room_name.h"
#include "server/socketio/socket.h"

namespace roomcast::rooms {
namespace {

namespace json = boost::json;

// A refusal as the join/leave ack carries it (DESIGN.md "Contract details").
struct Refusal {
  // invalid_room | forbidden | limit | invalid_request | unavailable | timeout
  std::string code;
  std::string message;
  std::optional<std::string> room;  // The first refused room, when there is one.
};

json::object ErrorAck(const Refusal& refusal) {
  json::object error{{"code", refusal.code}, {"message", refusal.message}};
  if (refusal.room) {
    error["room"] = *refusal.room;
  }
  return json::object{{"ok", false}, {"error", std::move(error)}};
}

// {"ok":true,"rooms":[...]}: every room the socket is in but its own id room.
json::object RoomsAck(const socketio::Socket& socket) {
  json::array rooms;
  for (const std::string& room : socket.rooms()) {
    if (room != socket.id()) {
      rooms.emplace_back(room);
    }
  }
  return json::object{{"ok", true}, {"rooms", std::move(rooms)}};
}

void Reply(socketio::Socket& socket, const socketio::Event& event, json::object body) {
  if (event.ack_id) {
    socket.Ack(*event.ack_id, json::array{std::move(body)});
  }
}

// The room names in a `join`/`leave` argument or the auth payload: one
// string or a list of strings, each valid; all-or-nothing.
absl::StatusOr<std::vector<std::string>> RoomList(const json::value* value, Refusal& refusal) {
  std::vector<std::string> rooms;
  auto add = [&](const json::value& item) {
    if (!item.is_string()) {
      refusal = {"invalid_room", "room name must be a string", json::serialize(item)};
      return false;
    }
    std::string_view room = item.as_string();
    if (absl::Status status = core::ValidateRoomName(room); !status.ok()) {
      refusal = {"invalid_room", std::string(ToStd(status.message())), std::string(room)};
      return false;
    }
    rooms.emplace_back(room);
    return true;
  };
  if (value != nullptr && value->is_array()) {
    for (const json::value& item : value->as_array()) {
      if (!add(item)) {
        return absl::InvalidArgumentError(refusal.message);
      }
    }
    return rooms;
  }
  if (value == nullptr || !add(*value)) {
    if (value == nullptr) {
      refusal = {"invalid_room", "a room name or a list of room names is required", std::nullopt};
    }
    return absl::InvalidArgumentError(refusal.message);
  }
  return rooms;
}

size_t RoomsAfterJoin(const socketio::Socket& socket, const std::vector<std::string>& rooms) {
  // Its own id room does not count (and is not there yet during CONNECT).
  size_t count = socket.rooms().size() - (socket.rooms().contains(socket.id()) ? 1 : 0);
  for (const std::string& room : rooms) {
    count += socket.rooms().contains(room) ? 0 : 1;
  }
  return count;
}

}  // namespace

absl::Status RoomEvents::Authenticate(socketio::Socket& socket) {
  if (options_.authenticator == nullptr ||
      std::find(options_.public_namespaces.begin(), options_.public_namespaces.end(),
                socket.nsp()) != options_.public_namespaces.end()) {
    return absl::OkStatus();
  }
  absl::StatusOr<auth::Identity> identity = options_.authenticator->Authenticate(
      socket.auth(), socket.handshake().authorization, socket.handshake().cookie,
      std::chrono::system_clock::now());
  if (!identity.ok()) {
    return identity.status();
  }
  if (!identity->user_id.empty()) {
    // Every socket of a user shares a room, so services can reach the person.
    socket.Join(absl::StrCat("user:", identity->user_id));
  }
  socket.set_identity(identity->user_id, std::move(identity->claims));
  return absl::OkStatus();
}

std::optional<std::pair<std::string, std::string>> RoomEvents::FirstForbidden(
    const socketio::Socket& socket, const std::vector<std::string>& rooms) const {
  if (!socket.authenticated()) {
    return std::nullopt;  // Anonymous namespaces and servers without auth: any room.
  }
  for (const std::string& room : rooms) {
    if (!options_.room_policy.Allows(room, socket.claims())) {
      base::Counters::Bump(counters_.joins_forbidden);
      return std::make_pair(room, absl::StrCat("room '", room, "' is not allowed for this user"));
    }
  }
  return std::nullopt;
}

absl::Status RoomEvents::Authorize(socketio::Socket& socket) {
  if (absl::Status status = Authenticate(socket); !status.ok()) {
    return status;
  }
  const json::value* requested = socket.auth().if_contains("rooms");
  if (requested == nullptr) {
    return absl::OkStatus();
  }
  Refusal refusal;
  absl::StatusOr<std::vector<std::string>> rooms = RoomList(requested, refusal);
  if (!rooms.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("room '", refusal.room.value_or(""), "' refused: ", refusal.message));
  }
  if (auto forbidden = FirstForbidden(socket, *rooms)) {
    return absl::PermissionDeniedError(forbidden->second);
  }
  if (RoomsAfterJoin(socket, *rooms) > options_.max_rooms_per_socket) {
    return absl::ResourceExhaustedError(
        absl::StrCat("more than ", options_.max_rooms_per_socket, " rooms requested"));
  }
  for (const std::string& room : *rooms) {
    socket.Join(room);
  }
  return absl::OkStatus();
}

std::vector<std::string> RoomEvents::RestorableRooms(const socketio::Socket& socket,
                                                     std::vector<std::string> rooms) {
  // The policy may have changed since, or the claims that allowed a room.
  const std::string own_user_room = absl::StrCat("user:", socket.user_id());
  std::erase_if(rooms, [&](const std::string& room) {
    return room != socket.id() && room != own_user_room && socket.authenticated() &&
           !options_.room_policy.Allows(room, socket.claims());
  });
  return rooms;
}

void RoomEvents::OnEvent(socketio::Socket& socket, socketio::Event event) {
  if (options_.events_per_second > 0) {
    std::optional<base::TokenBucket>& budget = socket.event_budget();
    if (!budget) {
      budget.emplace(options_.events_per_second, 2 * options_.events_per_second);
    }
    if (!budget->Take()) {
      base::Counters::Bump(counters_.client_events_throttled);
      Reply(socket, event, ErrorAck({"limit", "too many events: slow down", std::nullopt}));
      return;
    }
  }
  if (event.name == "join") {
    Join(socket, event);
  } else if (event.name == "leave") {
    Leave(socket, event);
  } else if (event.name == "rooms") {
    Reply(socket, event, RoomsAck(socket));
  } else if (event.name == "broadcast" && options_.enable_client_broadcast) {
    Broadcast(socket, std::move(event));
  } else {
    ToServices(socket, std::move(event));
  }
}

namespace {

// The socket as services see it, with an event of `kind`.
core::ClientEvent Describe(const socketio::Socket& socket, core::ClientEvent::Kind kind) {
  core::ClientEvent event;
  event.kind = kind;
  event.nsp = socket.nsp();
  event.name = std::string(core::KindName(kind));
  event.args_json = "[]";
  event.socket_id = socket.id();
  event.user_id = socket.user_id();
  if (socket.authenticated()) {
    event.claims_json = json::serialize(socket.claims());
  }
  for (const std::string& room : socket.rooms()) {
    if (room != socket.id()) {
      event.rooms.push_back(room);
    }
  }
  event.time_ms = base::UnixMillis();
  event.traceparent = socket.traceparent();
  return event;
}

}  // namespace

void RoomEvents::ToServices(socketio::Socket& socket, socketio::Event event) {
  if (options_.client_events == nullptr) {
    base::Counters::Bump(counters_.client_events_unavailable);
    Reply(socket, event,
          ErrorAck({"unavailable", absl::StrCat("no service receives '", event.name, "'"),
                    std::nullopt}));
    return;
  }
  core::ClientEvent out = Describe(socket, core::ClientEvent::Kind::kEvent);
  out.name = std::move(event.name);
  out.args_json = json::serialize(event.args);
  out.attachments = std::move(event.attachments);
  core::ClientAckDone done;
  if (event.ack_id) {
    done = [reply = socket.Deferred(),
            ack_id = *event.ack_id](absl::StatusOr<std::string> args_json) mutable {
      // On any thread: answered on the socket's own.
      reply([ack_id, args_json = std::move(args_json)](socketio::Socket& socket) {
        json::array args;
        if (args_json.ok()) {
          boost::system::error_code error;
          json::value parsed = json::parse(*args_json, error);
          if (!error && parsed.is_array()) {
            args = std::move(parsed.as_array());
          }
        } else {
          const bool late = absl::IsDeadlineExceeded(args_json.status());
          args.emplace_back(
              ErrorAck({late ? "timeout" : "unavailable",
                        std::string(ToStd(args_json.status().message())), std::nullopt}));
        }
        socket.Ack(ack_id, args);
      });
    };
  }
  options_.client_events->Offer(std::move(out), std::move(done));
}

void RoomEvents::Presence(const socketio::Socket& socket, core::ClientEvent::Kind kind,
                          const std::vector<std::string>& rooms, std::string_view reason) {
  if (options_.client_events == nullptr || !options_.client_events->WantsPresence(socket.nsp())) {
    return;
  }
  core::ClientEvent event = Describe(socket, kind);
  if (!rooms.empty()) {
    json::array list;
    for (const std::string& room : rooms) {
      list.emplace_back(room);
    }
    // Not json::array{std::move(list)}: GCC and Clang disagree whether that
    // nests the list or moves it (CWG 2137).
    json::array args;
    args.emplace_back(std::move(list));
    event.args_json = json::serialize(args);
  }
  event.reason = std::string(reason);
  options_.client_events->Offer(std::move(event), nullptr);
}

void RoomEvents::OnConnected(socketio::Socket& socket) {
  Presence(socket, core::ClientEvent::Kind::kConnect, {});
}

void RoomEvents::OnDisconnect(socketio::Socket& socket, std::string_view reason) {
  Presence(socket, core::ClientEvent::Kind::kDisconnect, {}, reason);
}

namespace {

// The rooms a `join`/`leave` names; on a refusal the client is answered here.
std::optional<std::vector<std::string>> RoomsOfEvent(socketio::Socket& socket,
                                                     const socketio::Event& event) {
  Refusal refusal;
  absl::StatusOr<std::vector<std::string>> rooms =
      RoomList(event.args.empty() ? nullptr : &event.args.front(), refusal);
  if (!rooms.ok()) {
    Reply(socket, event, ErrorAck(refusal));
    return std::nullopt;
  }
  return *std::move(rooms);
}

}  // namespace

void RoomEvents::Join(socketio::Socket& socket, const socketio::Event& event) {
  std::optional<std::vector<std::string>> rooms = RoomsOfEvent(socket, event);
  if (!rooms) {
    return;
  }
  if (auto forbidden = FirstForbidden(socket, *rooms)) {
    Reply(socket, event, ErrorAck({"forbidden", forbidden->second, forbidden->first}));
    return;
  }
  if (RoomsAfterJoin(socket, *rooms) > options_.max_rooms_per_socket) {
    Reply(socket, event,
          ErrorAck(
              {"limit",
               absl::StrCat("a socket may be in at most ", options_.max_rooms_per_socket, " rooms"),
               rooms->front()}));
    return;
  }
  std::vector<std::string> added;
  for (const std::string& room : *rooms) {
    if (!socket.rooms().contains(room)) {
      added.push_back(room);
    }
    socket.Join(room);
  }
  // Acknowledged once an emit made anywhere after the ack reaches the
  // socket; if the cluster cannot deliver to the rooms, the join is undone.
  socket.WhenReceiving(*rooms, [this, ack_id = event.ack_id, added = std::move(added)](
                                   socketio::Socket& socket, const absl::Status& status) {
    if (!status.ok()) {
      for (const std::string& room : added) {
        socket.LeaveRoom(room);
      }
    } else if (!added.empty()) {
      Presence(socket, core::ClientEvent::Kind::kJoin, added);
    }
    if (ack_id) {
      json::object body =
          status.ok() ? RoomsAck(socket)
                      : ErrorAck({"unavailable", std::string(ToStd(status.message())),
                                  added.empty() ? std::nullopt : std::optional(added.front())});
      socket.Ack(*ack_id, json::array{std::move(body)});
    }
  });
}

void RoomEvents::Leave(socketio::Socket& socket, const socketio::Event& event) {
  std::optional<std::vector<std::string>> rooms = RoomsOfEvent(socket, event);
  if (!rooms) {
    return;
  }
  std::vector<std::string> left;
  for (const std::string& room : *rooms) {
    if (socket.rooms().contains(room)) {
      left.push_back(room);
    }
    socket.LeaveRoom(room);
  }
  Reply(socket, event, RoomsAck(socket));
  if (!left.empty()) {
    Presence(socket, core::ClientEvent::Kind::kLeave, left);
  }
}

// {room | rooms, except, event, data, volatile} -> an emit, acked with its recipients.
void RoomEvents::Broadcast(socketio::Socket& socket, socketio::Event event) {
  const json::object* spec = event.args.empty() ? nullptr : event.args.front().if_object();
  core::EmitRequest request;
  request.nsp = socket.nsp();
  Refusal refusal;
  bool valid = spec != nullptr && spec->contains("event") && spec->at("event").is_string();
  if (valid) {
    const json::value* rooms = spec->if_contains("rooms");
    if (rooms == nullptr) {
      rooms = spec->if_contains("room");
    }
    if (rooms != nullptr) {
      auto list = RoomList(rooms, refusal);
      valid = list.ok();
      if (valid) {
        request.rooms = *std::move(list);
      }
    }
    if (const json::value* except = spec->if_contains("except"); valid && except != nullptr) {
      auto list = RoomList(except, refusal);
      valid = list.ok();
      if (valid) {
        request.except = *std::move(list);
      }
    }
  }
  if (!valid) {
    if (refusal.code.empty()) {
      refusal = {"invalid_request", "expected {event, data, room|rooms, except}", std::nullopt};
    }
    Reply(socket, event, ErrorAck(refusal));
    return;
  }
  request.event = std::string(spec->at("event").as_string());
  if (const json::value* data = spec->if_contains("data")) {
    request.args_json = json::serialize(*data);
  }
  if (const json::value* is_volatile = spec->if_contains("volatile")) {
    request.is_volatile = is_volatile->is_bool() && is_volatile->get_bool();
  }
  request.attachments = std::move(event.attachments);
  const std::optional<uint64_t> ack_id = event.ack_id;
  if (!ack_id) {
    emitter_.Emit(std::move(request), [](const absl::StatusOr<core::EmitResult>&) {});
    return;
  }
  emitter_.Emit(std::move(request), [reply = socket.Deferred(),
                                     ack_id](absl::StatusOr<core::EmitResult> result) {
    // Runs on whichever shard finished last: answer on the socket's own.
    json::object body =
        result.ok()
            ? json::object{{"ok", true}, {"recipients", result->recipients}}
            : ErrorAck({absl::IsUnavailable(result.status()) ? "unavailable" : "invalid_request",
                        std::string(ToStd(result.status().message())), std::nullopt});
    reply([ack_id, body = std::move(body)](socketio::Socket& socket) mutable {
      socket.Ack(*ack_id, json::array{std::move(body)});
    });
  });
}

}  // namespace roomcast::rooms
