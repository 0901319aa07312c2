#include "server/engineio/session_state.h"

#include <algorithm>

namespace roomcast::engineio {

SessionState::SessionState(Transport transport, const ServerOptions& options, Clock::time_point now)
    : options_(options), transport_(transport), heartbeat_deadline_(now + options.ping_interval) {}

Reaction SessionState::OnPacket(const Packet& packet, Clock::time_point now) {
  switch (packet.type) {
    case PacketType::kMessage:
      return Reaction::kDeliver;
    case PacketType::kPong:
      if (heartbeat_ == Heartbeat::kAwaitingPong) {
        heartbeat_ = Heartbeat::kWaitingToPing;
        heartbeat_deadline_ = now + options_.ping_interval;
      }
      return Reaction::kIgnore;
    case PacketType::kPing:
      return Reaction::kProtocolError;  // v4: only the server pings.
    case PacketType::kClose:
      return Reaction::kClose;
    case PacketType::kOpen:
    case PacketType::kUpgrade:
    case PacketType::kNoop:
      return Reaction::kIgnore;
  }
  return Reaction::kProtocolError;
}

Reaction SessionState::OnProbePacket(const Packet& packet) {
  if (packet.type == PacketType::kPing && packet.data == "probe" && upgrade_ == Upgrade::kProbing) {
    upgrade_ = Upgrade::kProbed;
    return Reaction::kAnswerProbe;
  }
  if (packet.type == PacketType::kUpgrade && upgrade_ == Upgrade::kProbed) {
    upgrade_ = Upgrade::kNone;
    transport_ = Transport::kWebSocket;
    return Reaction::kCompleteUpgrade;
  }
  return Reaction::kProtocolError;
}

bool SessionState::BeginUpgrade(Clock::time_point now) {
  if (transport_ != Transport::kPolling || upgrade_ != Upgrade::kNone) {
    return false;
  }
  upgrade_ = Upgrade::kProbing;
  upgrade_deadline_ = now + options_.upgrade_timeout;
  return true;
}

void SessionState::AbortUpgrade() { upgrade_ = Upgrade::kNone; }

Clock::time_point SessionState::NextDeadline() const {
  return upgrading() ? std::min(heartbeat_deadline_, upgrade_deadline_) : heartbeat_deadline_;
}

Due SessionState::Expire(Clock::time_point now) {
  if (upgrading() && now >= upgrade_deadline_) {
    upgrade_ = Upgrade::kNone;
    return Due::kUpgradeTimeout;
  }
  if (now < heartbeat_deadline_) {
    return Due::kNothing;
  }
  if (heartbeat_ == Heartbeat::kAwaitingPong) {
    return Due::kPingTimeout;
  }
  heartbeat_ = Heartbeat::kAwaitingPong;
  // From the deadline, not from `now`: the session expires exactly at
  // pingInterval + pingTimeout, however late the timer fired.
  heartbeat_deadline_ += options_.ping_timeout;
  return Due::kSendPing;
}

}  // namespace roomcast::engineio
