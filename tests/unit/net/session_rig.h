#pragma once
// One Engine.IO session with its Socket.IO connection and the room
// protocol, on a shard whose io_context the test runs by hand, reached
// through fake transports (no sockets): for the session unit tests and the
// engine_session fuzz target.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/post.hpp>

#include "server/broker/local_broker.h"
#include "server/core/emitter.h"
#include "server/net/engine_endpoint.h"
#include "server/net/engine_session.h"
#include "server/net/session_listeners.h"
#include "server/net/shard.h"
#include "server/net/transport.h"
#include "server/rooms/room_events.h"
#include "server/storage/memory_event_store.h"

namespace roomcast::net::testing {

using boost::beast::error_code;

// A held or answered HTTP exchange.
class FakeExchange final : public PollExchange {
 public:
  void Reply(Response response) override {
    if (!answered_) {
      answered_ = true;
      answer_ = std::move(response.body());
      on_close_ = nullptr;
    }
  }
  // The body of the answer, once given.
  const std::optional<std::string>& answer() const { return answer_; }
  void WatchForClose(absl::AnyInvocable<void() &&> on_close) override {
    on_close_ = std::move(on_close);
  }
  // The client goes away while the answer is held.
  void Abandon() {
    if (!answered_ && on_close_) {
      answered_ = true;
      auto on_close = std::move(on_close_);
      on_close_ = nullptr;
      std::move(on_close)();
    }
  }

 private:
  bool answered_ = false;
  std::optional<std::string> answer_;
  absl::AnyInvocable<void() &&> on_close_;
};

// A WebSocket after its handshake, with the real channel's rules: nothing is
// read after our close is queued, a write after it is aborted (later), and
// the end is reported once.
class FakeChannel final : public MessageChannel, public std::enable_shared_from_this<FakeChannel> {
 public:
  FakeChannel(boost::asio::io_context& io, bool sync_writes) : io_(io), sync_writes_(sync_writes) {}

  void StartReading(FrameHandler on_frame, Callback on_end) override {
    on_frame_ = std::move(on_frame);
    on_end_ = std::move(on_end);
  }
  void WritePackets(std::span<const core::SharedPacket> packets, Callback on_done) override {
    if (closed_ || ended_) {
      boost::asio::post(
          io_, [on_done = std::move(on_done)] { on_done(boost::asio::error::operation_aborted); });
      return;
    }
    for (const core::SharedPacket& packet : packets) {
      sent_.push_back(packet->text);  // reads every packet: a dangling one shows
    }
    if (sync_writes_) {
      on_done({});
    } else {
      pending_.push_back(std::move(on_done));
    }
  }
  void Close(std::string_view reason) override { closed_ = true; }
  bool closed() const { return closed_; }
  // The text of every packet handed to the channel, in order.
  const std::vector<std::string>& sent() const { return sent_; }

  void Frame(std::string_view data, bool binary) {
    if (!ended_ && !closed_ && on_frame_) {
      auto keep_alive = shared_from_this();
      on_frame_(data, binary);
    }
  }
  void End() {
    if (ended_) {
      return;
    }
    auto keep_alive = shared_from_this();
    ended_ = true;
    on_frame_ = nullptr;
    Callback on_end = std::move(on_end_);
    on_end_ = nullptr;
    if (on_end) on_end(boost::asio::error::eof);
  }
  void FinishWrites(bool fail) {
    auto keep_alive = shared_from_this();
    std::vector<Callback> pending = std::move(pending_);
    pending_.clear();
    for (Callback& done : pending) {
      done(fail ? error_code(boost::asio::error::broken_pipe) : error_code());
    }
  }

 private:
  boost::asio::io_context& io_;
  const bool sync_writes_;
  FrameHandler on_frame_;
  Callback on_end_;
  std::vector<Callback> pending_;
  std::vector<std::string> sent_;
  bool closed_ = false;
  bool ended_ = false;
};

struct RigOptions {
  bool websocket = false;         // the session starts on WebSocket (else polling)
  bool ping_due_at_once = false;  // pingInterval 0
  bool pong_due_at_once = false;  // pingTimeout 0 too
  bool connect_due_at_once = false;
  bool sync_writes = false;  // WebSocket writes finish before WritePackets returns
  bool client_broadcast = false;
  size_t send_queue_bytes = 2048;  // small: slow-consumer closes happen
};

class SessionRig {
 public:
  explicit SessionRig(RigOptions options)
      : options_(options),
        shards_(1),
        shard_(shards_[0]),
        store_(64),
        broker_(store_, core::NodeStatus::Named("rig")),
        emitter_(shards_, broker_, counters_),
        room_events_(emitter_, counters_, RoomOptions(options)),
        endpoint_(shards_, EngineOptionsFor(options), CorsPolicy::Wildcard(), MakeListener(),
                  counters_),
        websocket_(std::make_shared<FakeChannel>(shard_.io(), options.sync_writes)) {
    namespaces_.Add("/", room_events_);
    namespaces_.Add("/admin", room_events_);
    namespaces_.set_max_attachments(2);
    const engineio::Transport transport =
        options.websocket ? engineio::Transport::kWebSocket : engineio::Transport::kPolling;
    auto session = std::make_shared<EngineSession>(shards_.NewSessionId(shard_), shard_, endpoint_,
                                                   transport, counters_);
    shard_.sessions().emplace(session->sid(), session);
    session->Start(MakeListener()(*session));
    if (options.websocket) {
      session->AttachWebSocket(websocket_);
    }
    session_ = session;  // From here on the shard's map and the handlers own it, as in the server.
  }

  std::shared_ptr<EngineSession> session() const { return session_.lock(); }
  bool session_gone() const { return session_.expired(); }
  Shard& shard() { return shard_; }
  base::Counters& counters() { return counters_; }
  core::Emitter& emitter() { return emitter_; }
  const FakeChannel& websocket() const { return *websocket_; }
  // The last polling request's answer, if it has one.
  std::optional<std::string> last_answer() const {
    return exchanges_.empty() ? std::nullopt : exchanges_.back()->answer();
  }

  // The client's side.
  void WebSocketText(std::string_view text) { websocket_->Frame(text, false); }
  void WebSocketBinary(std::string_view bytes) { websocket_->Frame(bytes, true); }
  void WebSocketEnds() { websocket_->End(); }
  void Post(std::string_view body) {
    if (auto live = session()) live->OnPollPost(NewExchange(), MakeRequest(http::verb::post, body));
  }
  void Get() {
    if (auto live = session()) live->OnPollGet(NewExchange(), MakeRequest(http::verb::get, {}));
  }
  void AbandonGets() {
    for (auto& exchange : exchanges_) exchange->Abandon();
  }
  // A WebSocket asks to upgrade; its handshake succeeds or fails.
  void Upgrade(bool handshake_ok) {
    auto live = session();
    std::optional<uint64_t> attempt = live ? live->BeginUpgrade() : std::nullopt;
    if (!attempt) {
      return;
    }
    if (!handshake_ok) {
      live->OnProbeFailed(*attempt);
      return;
    }
    probe_ = std::make_shared<FakeChannel>(shard_.io(), options_.sync_writes);
    live->OnProbeOpened(*attempt, probe_);
  }
  void ProbeText(std::string_view text) {
    if (!probe_) return;
    probe_->Frame(text, false);
    if (text == "5") websocket_ = probe_;  // the probe is the transport now
  }
  void ProbeEnds() {
    if (probe_) probe_->End();
  }
  void FinishWrites(bool fail) {
    websocket_->FinishWrites(fail);
    if (probe_) probe_->FinishWrites(fail);
  }

  // The server's side.
  void RunLoop() {
    shard_.io().poll();
    shard_.io().restart();
  }
  // As the control plane does it: ids first, then each looked up again.
  void DisconnectAll(bool close_connection) {
    std::vector<std::string> ids;
    for (core::Member* member : shard_.rooms().Select("/", {}, {})) ids.push_back(member->id());
    for (const std::string& id : ids) {
      std::vector<core::Member*> member = shard_.rooms().Select("/", {&id, 1}, {});
      if (!member.empty()) member.front()->Disconnect(close_connection);
    }
  }
  void Emit(std::string_view room) {
    core::EmitRequest emit;
    if (!room.empty()) emit.rooms.emplace_back(room);
    emit.event = "news";
    emit.args_json = "1,\"two\"";
    emitter_.Emit(std::move(emit), [](absl::StatusOr<core::EmitResult>) {});
  }
  void Shutdown() {
    if (auto live = session()) live->Close(engineio::kReasonServerShutdown);
  }

  // Closes the session, polls once more (a closed polling session waits for
  // that), drains the loop and every write: true when nothing
  // of it is left (no session, no member, no room, no owner of the session).
  bool CloseAndDrain() {
    Shutdown();
    Get();  // the poll a closed polling session waits for
    for (int i = 0; i < 8; ++i) RunLoop();
    FinishWrites(/*fail=*/true);
    RunLoop();
    return shard_.sessions().empty() && shard_.rooms().MemberCount("/") == 0 &&
           shard_.rooms().RoomCount("/") == 0 && shard_.rooms().MemberCount("/admin") == 0 &&
           session_gone();
  }

 private:
  static rooms::RoomEvents::Options RoomOptions(const RigOptions& options) {
    rooms::RoomEvents::Options room_options;
    room_options.enable_client_broadcast = options.client_broadcast;
    room_options.max_rooms_per_socket = 4;
    return room_options;
  }
  static EngineOptions EngineOptionsFor(const RigOptions& options) {
    EngineOptions engine;
    const bool ping_now = options.ping_due_at_once || options.pong_due_at_once;
    engine.protocol.ping_interval = std::chrono::milliseconds(ping_now ? 0 : 25000);
    engine.protocol.ping_timeout = std::chrono::milliseconds(options.pong_due_at_once ? 0 : 20000);
    engine.protocol.max_payload = 4096;
    engine.send_queue_bytes = options.send_queue_bytes;
    return engine;
  }
  EngineEndpoint::ListenerFactory MakeListener() {
    const auto timeout = std::chrono::milliseconds(options_.connect_due_at_once ? 0 : 45000);
    return [this, timeout](EngineSession& session) {
      return std::make_unique<SocketIoListener>(session, namespaces_, counters_, timeout);
    };
  }
  std::shared_ptr<FakeExchange> NewExchange() {
    exchanges_.push_back(std::make_shared<FakeExchange>());
    return exchanges_.back();
  }
  static Request MakeRequest(http::verb method, std::string_view body) {
    Request request(method, "/socket.io/?EIO=4&transport=polling", 11);
    request.body() = std::string(body);
    request.prepare_payload();
    return request;
  }

  RigOptions options_;
  base::Counters counters_;
  Shards shards_;
  Shard& shard_;
  storage::MemoryEventStore store_;
  broker::LocalBroker broker_;
  core::Emitter emitter_;
  rooms::RoomEvents room_events_;
  socketio::Namespaces namespaces_;
  EngineEndpoint endpoint_;
  std::shared_ptr<FakeChannel> websocket_;  // over polling: unattached until an upgrade
  std::shared_ptr<FakeChannel> probe_;
  std::vector<std::shared_ptr<FakeExchange>> exchanges_;
  std::weak_ptr<EngineSession> session_;
};

}  // namespace roomcast::net::testing
