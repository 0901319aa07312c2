#pragma once

#include <chrono>

#include "server/codec/engineio_handshake.h"
#include "server/codec/engineio_packet.h"

namespace roomcast::engineio {

using Clock = std::chrono::steady_clock;

// Why a session ended; the strings are the reference server's reasons.
inline constexpr std::string_view kReasonPingTimeout = "ping timeout";
inline constexpr std::string_view kReasonTransportClose = "transport close";
inline constexpr std::string_view kReasonTransportError = "transport error";
inline constexpr std::string_view kReasonParseError = "parse error";
inline constexpr std::string_view kReasonForcedClose = "forced close";
inline constexpr std::string_view kReasonServerShutdown = "server shutting down";

// What the session must do about a packet the client sent.
enum class Reaction {
  kIgnore,
  kDeliver,          // A message for the layer above.
  kAnswerProbe,      // Send `3probe` on the probe transport, noop the pending poll.
  kCompleteUpgrade,  // The probe transport is now the session's transport.
  kClose,            // The client closed the session.
  kProtocolError,    // Close the session: the client broke the protocol.
};

// What a timer deadline means when it is reached.
enum class Due { kNothing, kSendPing, kPingTimeout, kUpgradeTimeout };

// The Engine.IO v4 session rules without any I/O: heartbeat deadlines
// (the server pings; the client must pong within pingTimeout), and the
// polling -> WebSocket upgrade. The transport layer feeds it packets and the
// clock, and arms one timer at NextDeadline().
class SessionState {
 public:
  SessionState(Transport transport, const ServerOptions& options, Clock::time_point now);

  Transport transport() const { return transport_; }
  bool upgrading() const { return upgrade_ != Upgrade::kNone; }
  // The probe WebSocket got its `3probe`; the client is about to send `5`.
  bool probe_answered() const { return upgrade_ == Upgrade::kProbed; }

  // A packet from the session's current transport.
  Reaction OnPacket(const Packet& packet, Clock::time_point now);
  // A packet from the WebSocket that is probing an upgrade.
  Reaction OnProbePacket(const Packet& packet);

  // A WebSocket asks to take over this polling session; false if it may not.
  bool BeginUpgrade(Clock::time_point now);
  // The probe WebSocket went away before completing the upgrade.
  void AbortUpgrade();

  Clock::time_point NextDeadline() const;
  // Call when NextDeadline() has passed; says what it meant and moves on.
  Due Expire(Clock::time_point now);

 private:
  enum class Heartbeat { kWaitingToPing, kAwaitingPong };
  enum class Upgrade { kNone, kProbing, kProbed };

  ServerOptions options_;
  Transport transport_;
  Heartbeat heartbeat_ = Heartbeat::kWaitingToPing;
  Clock::time_point heartbeat_deadline_;
  Upgrade upgrade_ = Upgrade::kNone;
  Clock::time_point upgrade_deadline_;
};

}  // namespace roomcast::engineio
