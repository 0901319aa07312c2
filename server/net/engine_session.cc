#include "server/net/engine_session.h"

#include <boost/asio/post.hpp>

#include "server/net/engine_endpoint.h"
#include "server/net/handler_memory.h"

namespace roomcast::net {
namespace {

using engineio::PacketType;
using engineio::Reaction;
using engineio::Transport;

// How long a closed polling session waits for the poll that learns of it.
constexpr auto kCloseTimeout = std::chrono::seconds(30);

const core::SharedPacket& PingPacket() {
  static const core::SharedPacket packet =
      core::MakePacket(engineio::EncodeTextPacket(PacketType::kPing));
  return packet;
}

constexpr std::string_view kReasonSlowConsumer = "slow consumer";
constexpr auto kProbeNoopDelay = std::chrono::milliseconds(100);

}  // namespace

EngineSession::EngineSession(std::string sid, Shard& shard, const EngineEndpoint& endpoint,
                             Transport transport, base::Counters& counters)
    : sid_(std::move(sid)),
      shard_(shard),
      endpoint_(endpoint),
      counters_(counters),
      state_(transport, endpoint.options().protocol, engineio::Clock::now()) {
  base::Counters::Bump(counters_.sessions_opened);
}

EngineSession::~EngineSession() {
  if (!closed_) {
    base::Counters::Bump(counters_.sessions_closed);
  }
}

void EngineSession::Start(std::unique_ptr<SessionListener> listener) {
  listener_ = std::move(listener);
  ArmTimer();
}

void EngineSession::SetListenerDeadline(engineio::Clock::time_point deadline) {
  listener_deadline_ = deadline;
  if (!closed_) {
    ArmTimer();
  }
}

void EngineSession::ArmTimer() {
  shard_.timers().Schedule(*this, std::min(state_.NextDeadline(), listener_deadline_));
}

void EngineSession::OnDeadline() {
  auto keep_alive = shared_from_this();
  if (lingering_) {
    FinishLingering();  // no poll came for the close
    return;
  }
  if (closed_) {
    return;
  }
  const engineio::Clock::time_point now = engineio::Clock::now();
  if (listener_deadline_ <= now) {
    listener_deadline_ = engineio::Clock::time_point::max();
    if (listener_) {
      listener_->OnDeadline();
    }
    if (closed_) {
      return;
    }
  }
  switch (state_.Expire(now)) {  // kNothing when only the listener's deadline was due
    case engineio::Due::kSendPing:
      Enqueue(PingPacket());
      break;
    case engineio::Due::kPingTimeout:
      End(engineio::kReasonPingTimeout, Ending::kDropped);
      return;
    case engineio::Due::kUpgradeTimeout:
      DropProbe();
      break;
    case engineio::Due::kNothing:
      break;
  }
  ArmTimer();
}

// --- Transports -----------------------------------------------------------

void EngineSession::AttachWebSocket(std::shared_ptr<MessageChannel> channel) {
  websocket_ = std::move(channel);
  std::weak_ptr<EngineSession> weak = weak_from_this();
  websocket_->StartReading(
      [weak](std::string_view data, bool binary) {
        if (auto self = weak.lock()) {
          self->OnWebSocketFrame(data, binary);
        }
      },
      [weak](boost::beast::error_code) {
        if (auto self = weak.lock()) {
          self->End(engineio::kReasonTransportClose, Ending::kDropped);
        }
      });
  Flush();
}

void EngineSession::OnWebSocketFrame(std::string_view data, bool binary) {
  if (binary) {
    OnPacket(engineio::Packet{PacketType::kMessage, std::string(data), true});
    return;
  }
  absl::StatusOr<engineio::Packet> packet = engineio::DecodeTextPacket(data);
  if (!packet.ok()) {
    base::Counters::Bump(counters_.protocol_errors);
    End(engineio::kReasonParseError, Ending::kDropped);
    return;
  }
  OnPacket(*packet);
}

void EngineSession::OnPacket(const engineio::Packet& packet) {
  if (closed_) {
    return;
  }
  switch (state_.OnPacket(packet, engineio::Clock::now())) {
    case Reaction::kDeliver:
      if (counters_.admin_watching.load(std::memory_order_relaxed)) {
        base::Counters::Bump(counters_.admin_packets_in);
        base::Counters::Bump(counters_.admin_bytes_in, packet.data.size());
      }
      listener_->OnMessage(packet.data, packet.binary);
      return;
    case Reaction::kClose:
      End(engineio::kReasonTransportClose, Ending::kByClient);
      return;
    case Reaction::kProtocolError:
      base::Counters::Bump(counters_.protocol_errors);
      End(engineio::kReasonParseError, Ending::kDropped);
      return;
    default:
      return;
  }
}

void EngineSession::OnPollGet(const std::shared_ptr<PollExchange>& connection, Request request) {
  if (lingering_) {
    connection->Reply(
        endpoint_.PollResponse(request, http::status::ok, ClosingPayload(/*noop_if_empty=*/true)));
    FinishLingering();
    return;
  }
  if (pending_poll_) {
    // At most one GET at a time: the second is an error and ends the session.
    connection->Reply(endpoint_.ErrorResponse(request, engineio::kBadRequest));
    base::Counters::Bump(counters_.protocol_errors);
    End(engineio::kReasonTransportError, Ending::kDropped);
    return;
  }
  pending_poll_ = std::make_unique<PendingPoll>(PendingPoll{connection, std::move(request)});
  std::weak_ptr<EngineSession> weak = weak_from_this();
  connection->WatchForClose([weak] {
    if (auto self = weak.lock()) {
      self->pending_poll_.reset();
      self->End(engineio::kReasonTransportClose, Ending::kDropped);
    }
  });
  if (state_.upgrading()) {
    // Packets wait for the WebSocket. Once the probe is answered, a held poll
    // gets a noop 100 ms later (as the reference does), unless the upgrade
    // completes first.
    if (state_.probe_answered()) {
      ArmNoopTimer();
    }
    return;
  }
  Flush();
}

void EngineSession::OnPollPost(const std::shared_ptr<PollExchange>& connection, Request request) {
  if (lingering_) {
    // Closing: what the client sends now is ignored, as the reference does.
    connection->Reply(endpoint_.PollResponse(request, http::status::ok, "ok"));
    return;
  }
  if (auto type = HeaderValue(request, http::field::content_type);
      type && type->starts_with("application/octet-stream")) {
    connection->Reply(endpoint_.ErrorResponse(request, engineio::kBadRequest));
    return;
  }
  absl::StatusOr<std::vector<engineio::Packet>> packets = engineio::DecodePayload(request.body());
  if (!packets.ok()) {
    connection->Reply(endpoint_.ErrorResponse(request, engineio::kBadRequest));
    base::Counters::Bump(counters_.protocol_errors);
    End(engineio::kReasonParseError, Ending::kDropped);
    return;
  }
  // Answer first: packets may close the session, and the POST itself succeeded.
  connection->Reply(endpoint_.PollResponse(request, http::status::ok, "ok"));
  auto keep_alive = shared_from_this();
  for (const engineio::Packet& packet : *packets) {
    if (closed_) {
      break;
    }
    OnPacket(packet);
  }
}

std::optional<uint64_t> EngineSession::BeginUpgrade() {
  if (closed_ || !state_.BeginUpgrade(engineio::Clock::now())) {
    return std::nullopt;
  }
  ArmTimer();
  return ++upgrade_attempt_;
}

void EngineSession::OnProbeFailed(uint64_t attempt) {
  if (!closed_ && attempt == upgrade_attempt_ && state_.upgrading() && !probe_) {
    DropProbe();
  }
}

void EngineSession::OnProbeOpened(uint64_t attempt, std::shared_ptr<MessageChannel> probe) {
  if (closed_ || attempt != upgrade_attempt_ || !state_.upgrading() || probe_) {
    probe->Close();  // Timed out (or the session ended) while its handshake ran.
    return;
  }
  probe_ = std::move(probe);
  std::weak_ptr<EngineSession> weak = weak_from_this();
  std::weak_ptr<MessageChannel> weak_probe = probe_;
  probe_->StartReading(
      [weak, weak_probe](std::string_view data, bool binary) {
        auto self = weak.lock();
        if (self && self->probe_ == weak_probe.lock()) {
          self->OnProbeFrame(data, binary);
        } else if (self && self->websocket_ == weak_probe.lock()) {
          self->OnWebSocketFrame(data, binary);  // The probe became the transport.
        }
      },
      [weak, weak_probe](boost::beast::error_code) {
        auto self = weak.lock();
        if (!self) {
          return;
        }
        if (self->probe_ == weak_probe.lock()) {
          self->probe_.reset();
          self->state_.AbortUpgrade();
        } else if (self->websocket_ == weak_probe.lock()) {
          self->End(engineio::kReasonTransportClose, Ending::kDropped);
        }
      });
}

void EngineSession::OnProbeFrame(std::string_view data, bool binary) {
  absl::StatusOr<engineio::Packet> packet = engineio::DecodeTextPacket(data);
  const Reaction reaction =
      packet.ok() && !binary ? state_.OnProbePacket(*packet) : Reaction::kProtocolError;
  switch (reaction) {
    case Reaction::kAnswerProbe:
      probe_->WritePacket(core::MakePacket(engineio::EncodeTextPacket(PacketType::kPong, "probe")),
                          [](boost::beast::error_code) {});
      ArmNoopTimer();  // Ends the held poll so the client can pause polling.
      return;
    case Reaction::kCompleteUpgrade:
      websocket_ = std::move(probe_);
      if (noop_timer_) noop_timer_->cancel();
      if (pending_poll_) {
        // A poll on the old transport after the upgrade: refused, as later ones are.
        PendingPoll poll = std::move(*pending_poll_);
        pending_poll_.reset();
        poll.connection->Reply(endpoint_.ErrorResponse(poll.request, engineio::kBadRequest));
      }
      Flush();
      return;
    default:
      DropProbe();
  }
}

void EngineSession::ArmNoopTimer() {
  if (!noop_timer_) noop_timer_ = std::make_unique<Timer>(shard_.io());
  noop_timer_->expires_after(kProbeNoopDelay);
  noop_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec && self->state_.upgrading()) {
      self->AnswerPoll(engineio::EncodeTextPacket(PacketType::kNoop));
    }
  });
}

void EngineSession::DropProbe() {
  state_.AbortUpgrade();
  if (auto probe = std::move(probe_)) {
    probe->Close();
  }
  Flush();  // What waited for the WebSocket goes out by polling after all.
}

// --- Outgoing packets -----------------------------------------------------

bool EngineSession::Writable() const {
  return state_.transport() == Transport::kWebSocket ? websocket_ && !websocket_writing_
                                                     : pending_poll_ != nullptr;
}

bool EngineSession::Send(const core::SharedPacket& packet) {
  if (closed_) {
    return false;
  }
  if (packet->is_volatile && !Writable()) {
    base::Counters::Bump(counters_.dropped_volatile);
    return false;  // Socket.IO's rule: volatile packets skip a busy transport.
  }
  if (queued_bytes_ + packet->bytes() > endpoint_.options().send_queue_bytes) {
    base::Counters::Bump(counters_.slow_consumer_disconnects);
    End(kReasonSlowConsumer, Ending::kDropped);
    return false;
  }
  if (counters_.admin_watching.load(std::memory_order_relaxed)) {
    base::Counters::Bump(counters_.admin_packets_out);
    base::Counters::Bump(counters_.admin_bytes_out, packet->bytes());
  }
  Enqueue(packet);
  return true;
}

void EngineSession::Enqueue(core::SharedPacket packet) {
  queued_bytes_ += packet->bytes();
  queue_.push_back(std::move(packet));
  if (!flush_posted_) {
    // Everything queued in this turn of the loop goes out together.
    flush_posted_ = true;
    boost::asio::post(shard_.io(), [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->Flush();
    });
  }
}

void EngineSession::Flush() {
  if (closed_ || queue_.empty()) {
    return;
  }
  if (state_.transport() == Transport::kWebSocket) {
    FlushWebSocket();
  } else if (pending_poll_ && !state_.upgrading()) {
    FlushPoll();
  }
}

void EngineSession::FlushPoll() { AnswerPoll(TakeQueueAsPayload()); }

std::string EngineSession::TakeQueueAsPayload() {
  std::string payload;
  for (const core::SharedPacket& packet : queue_) {
    if (!packet->text.empty()) {
      engineio::AppendToPayload(payload, packet->text, false);
    }
    for (const std::string& attachment : packet->attachments) {
      engineio::AppendToPayload(payload, attachment, true);
    }
  }
  queue_.clear();
  queued_bytes_ = 0;
  return payload;
}

void EngineSession::FlushWebSocket() {
  if (!websocket_ || websocket_writing_ || queue_.empty()) {
    return;
  }
  // Everything queued goes out in one write; it counts against the send
  // queue bound until it is written.
  websocket_writing_ = true;
  std::vector<core::SharedPacket> batch = std::move(queue_);
  queue_.clear();
  size_t batch_bytes = 0;
  for (const core::SharedPacket& packet : batch) batch_bytes += packet->bytes();
  websocket_->WritePackets(batch,
                           [weak = weak_from_this(), batch_bytes](boost::beast::error_code ec) {
                             auto self = weak.lock();
                             if (!self) {
                               return;
                             }
                             self->websocket_writing_ = false;
                             self->queued_bytes_ -= std::min(batch_bytes, self->queued_bytes_);
                             if (ec) {
                               self->End(engineio::kReasonTransportError, Ending::kDropped);
                               return;
                             }
                             self->FlushWebSocket();
                           });
}

void EngineSession::AnswerPoll(std::string payload) {
  if (!pending_poll_) {
    return;
  }
  PendingPoll poll = std::move(*pending_poll_);
  pending_poll_.reset();
  poll.connection->Reply(
      endpoint_.PollResponse(poll.request, http::status::ok, std::move(payload)));
}

std::function<void(socketio::Link::Task)> EngineSession::Poster() const {
  // The shard's io_context lives as long as the process: safe from any thread.
  return [&io = shard_.io()](Task task) {
    boost::asio::post(io, [task = std::move(task)]() mutable { std::move(task)(); });
  };
}

// --- Closing --------------------------------------------------------------

void EngineSession::Close(std::string_view reason) { End(reason, Ending::kGraceful); }

void EngineSession::End(std::string_view reason, Ending how) {
  if (closed_) {
    return;
  }
  auto keep_alive = shared_from_this();
  closed_ = true;
  // Closed now, even while it waits for its last poll: counted, and no
  // longer held against the connection limits.
  base::Counters::Bump(counters_.sessions_closed);
  admission_.reset();
  shard_.timers().Cancel(*this);
  if (noop_timer_) noop_timer_->cancel();
  DropProbe();
  if (how != Ending::kGraceful) {
    queue_.clear();  // the client left, or could not keep up: nobody will read them
    queued_bytes_ = 0;
  }
  if (websocket_) {
    // What is queued goes out before the close frame; a slow consumer is
    // told why in it.
    if (!queue_.empty()) websocket_->WritePackets(queue_, [](boost::beast::error_code) {});
    websocket_->Close(reason == kReasonSlowConsumer ? reason : std::string_view());
  } else if (pending_poll_) {
    // The client closed: its poll just ends. We closed: it learns why.
    AnswerPoll(how == Ending::kByClient ? engineio::EncodeTextPacket(PacketType::kNoop)
                                        : ClosingPayload(/*noop_if_empty=*/false));
  } else if (how == Ending::kGraceful && state_.transport() == Transport::kPolling) {
    // No poll to answer: as the reference server does, the session waits
    // for the next one (up to kCloseTimeout) and answers it with what is
    // queued, or a noop, then the close.
    lingering_ = true;
    shard_.timers().Schedule(*this, engineio::Clock::now() + kCloseTimeout);
  }
  if (!lingering_) {
    queue_.clear();
    queued_bytes_ = 0;
  }
  if (listener_) {
    listener_->OnClose(reason);
  }
  if (!lingering_) {
    shard_.sessions().erase(sid_);
  }
  ReleaseLater();
}

std::string EngineSession::ClosingPayload(bool noop_if_empty) {
  std::string payload = queue_.empty() && noop_if_empty
                            ? engineio::EncodeTextPacket(PacketType::kNoop)
                            : TakeQueueAsPayload();
  engineio::AppendToPayload(payload, engineio::EncodeTextPacket(PacketType::kClose), false);
  return payload;
}

void EngineSession::FinishLingering() {
  lingering_ = false;
  shard_.timers().Cancel(*this);
  queue_.clear();
  queued_bytes_ = 0;
  shard_.sessions().erase(sid_);
}

void EngineSession::ReleaseLater() {
  // The listener (and the Socket.IO connection inside it) may be the caller
  // of this Close, several frames up the stack; so may the transports.
  boost::asio::post(shard_.io(), [self = shared_from_this()] {
    self->listener_.reset();
    self->websocket_.reset();
    self->probe_.reset();
    self->noop_timer_.reset();
  });
}

}  // namespace roomcast::net
