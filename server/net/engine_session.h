#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "server/base/counters.h"
#include "server/codec/engineio_packet.h"
#include "server/core/encoded_packet.h"
#include "server/engineio/session_state.h"
#include "server/net/connection_limits.h"
#include "server/net/http_types.h"
#include "server/net/shard.h"
#include "server/net/transport.h"
#include "server/socketio/handler.h"
#include "server/socketio/link.h"

namespace roomcast::net {

class EngineEndpoint;
class EngineSession;

// The layer above an Engine.IO session: Socket.IO, or the echo profile.
// The session owns it and destroys it only from a task posted after the
// session closed, never while one of these calls is running.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  virtual void OnMessage(std::string_view data, bool binary) = 0;
  virtual void OnClose(std::string_view reason) = 0;
  // The deadline set with EngineSession::SetListenerDeadline has passed.
  virtual void OnDeadline() {}
};

// One Engine.IO session, pinned to its shard: the packet queue (bounded in
// bytes), the heartbeat timer, and whichever transport carries it — held
// long-poll GETs, or a WebSocket, with the probe that upgrades one to the other.
class EngineSession final : public std::enable_shared_from_this<EngineSession>,
                            public socketio::Link,
                            private TimerWheel::Entry {
 public:
  EngineSession(std::string sid, Shard& shard, const EngineEndpoint& endpoint,
                engineio::Transport transport, base::Counters& counters);
  ~EngineSession() override;

  const std::string& sid() const { return sid_; }
  Shard& shard() { return shard_; }
  const EngineEndpoint& endpoint() const { return endpoint_; }
  engineio::Transport transport() const { return state_.transport(); }
  bool closed() const { return closed_; }

  void Start(std::unique_ptr<SessionListener> listener);
  // A deadline for the listener (Socket.IO's connect timeout), kept on the
  // session's own timer-wheel entry: no timer of the listener's can fire
  // after the session is gone. time_point::max() clears it.
  void SetListenerDeadline(engineio::Clock::time_point deadline);
  // The upgrade request's credentials, handed once to the Socket.IO layer.
  socketio::Handshake TakeHandshake() {
    socketio::Handshake taken = handshake_ ? std::move(*handshake_) : socketio::Handshake{};
    handshake_.reset();
    return taken;
  }
  void set_handshake(socketio::Handshake handshake) {
    if (!handshake.empty()) {
      handshake_ = std::make_unique<socketio::Handshake>(std::move(handshake));
    }
  }
  // Counted against the connection limits until the session ends.
  void set_admission(std::unique_ptr<ConnectionLimits::Admission> admission) {
    admission_ = std::move(admission);
  }
  void AttachWebSocket(std::shared_ptr<MessageChannel> channel);

  void OnPollGet(const std::shared_ptr<PollExchange>& connection, Request request);
  void OnPollPost(const std::shared_ptr<PollExchange>& connection, Request request);
  // A WebSocket asks to take over this polling session: the attempt's number,
  // or nothing if it may not (already upgraded, another probe runs, closed).
  std::optional<uint64_t> BeginUpgrade();
  // That WebSocket's handshake completed, or failed.
  void OnProbeOpened(uint64_t attempt, std::shared_ptr<MessageChannel> probe);
  void OnProbeFailed(uint64_t attempt);

  // socketio::Link. Close is the deliberate one (the layer above, a
  // control-plane disconnect, shutdown): what is queued still goes out.
  bool Send(const core::SharedPacket& packet) override;
  void Close(std::string_view reason) override;
  std::function<void(Task)> Poster() const override;
  std::string_view session_id() const override { return sid_; }
  std::string_view transport_name() const override {
    return transport() == engineio::Transport::kPolling ? "polling" : "websocket";
  }

 private:
  struct PendingPoll {
    std::shared_ptr<PollExchange> connection;
    Request request;
  };

  // The heartbeat and upgrade deadlines, on the shard's timer wheel.
  void ArmTimer();
  void OnDeadline() override;
  void OnPacket(const engineio::Packet& packet);
  void OnWebSocketFrame(std::string_view data, bool binary);
  void OnProbeFrame(std::string_view data, bool binary);
  void Enqueue(core::SharedPacket packet);
  bool Writable() const;
  void Flush();
  void FlushPoll();
  void FlushWebSocket();
  void AnswerPoll(std::string payload);
  void ArmNoopTimer();
  void DropProbe();
  enum class Ending {
    kGraceful,  // queued packets go out first; a polling session waits for its last poll
    kDropped,   // the transport failed or the client broke the rules: queued packets go
    kByClient,  // the client sent `1`
  };
  void End(std::string_view reason, Ending how);
  // What is queued as one polling payload; the queue is empty after.
  std::string TakeQueueAsPayload();
  // The last answer of a closing polling session: what is queued (or, if
  // nothing is and `noop_if_empty`, a noop), then `1`.
  std::string ClosingPayload(bool noop_if_empty);
  void FinishLingering();
  // The teardown rule (docs/ARCHITECTURE.md): what a close releases is
  // destroyed by a task posted to the shard, after the handler that closed
  // the session has returned.
  void ReleaseLater();

  std::string sid_;
  Shard& shard_;
  const EngineEndpoint& endpoint_;
  base::Counters& counters_;
  engineio::SessionState state_;
  std::unique_ptr<socketio::Handshake> handshake_;  // until the Socket.IO layer takes it
  std::unique_ptr<ConnectionLimits::Admission> admission_;
  std::unique_ptr<SessionListener> listener_;
  engineio::Clock::time_point listener_deadline_ = engineio::Clock::time_point::max();
  using Timer =
      boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                        boost::asio::wait_traits<std::chrono::steady_clock>,
                                        boost::asio::io_context::executor_type>;
  // Answers polls that arrive mid-upgrade; made when first needed.
  std::unique_ptr<Timer> noop_timer_;
  bool closed_ = false;
  bool lingering_ = false;  // closed, in the shard's map until its last poll

  std::vector<core::SharedPacket> queue_;  // not yet handed to a transport
  size_t queued_bytes_ = 0;
  bool flush_posted_ = false;

  std::unique_ptr<PendingPoll> pending_poll_;
  std::shared_ptr<MessageChannel> websocket_;
  bool websocket_writing_ = false;
  std::shared_ptr<MessageChannel> probe_;
  uint64_t upgrade_attempt_ = 0;
};

}  // namespace roomcast::net
