#include "server/engineio/session_state.h"

#include <gtest/gtest.h>

namespace roomcast::engineio {
namespace {

using std::chrono::milliseconds;

class SessionStateTest : public ::testing::Test {
 protected:
  SessionStateTest() {
    options_.ping_interval = milliseconds(300);
    options_.ping_timeout = milliseconds(200);
    options_.upgrade_timeout = milliseconds(1000);
  }
  Packet Text(PacketType type, std::string data = "") { return Packet{type, std::move(data)}; }

  ServerOptions options_;
  Clock::time_point t0_ = Clock::now();
};

TEST_F(SessionStateTest, PingsAfterIntervalAndTimesOutExactlyAtIntervalPlusTimeout) {
  SessionState state(Transport::kWebSocket, options_, t0_);
  EXPECT_EQ(state.NextDeadline(), t0_ + milliseconds(300));
  EXPECT_EQ(state.Expire(t0_ + milliseconds(299)), Due::kNothing);
  // A late timer does not give the client more time.
  EXPECT_EQ(state.Expire(t0_ + milliseconds(320)), Due::kSendPing);
  EXPECT_EQ(state.NextDeadline(), t0_ + milliseconds(500));
  EXPECT_EQ(state.Expire(t0_ + milliseconds(500)), Due::kPingTimeout);
}

TEST_F(SessionStateTest, PongRestartsTheInterval) {
  SessionState state(Transport::kWebSocket, options_, t0_);
  ASSERT_EQ(state.Expire(t0_ + milliseconds(300)), Due::kSendPing);
  EXPECT_EQ(state.OnPacket(Text(PacketType::kPong), t0_ + milliseconds(350)), Reaction::kIgnore);
  EXPECT_EQ(state.NextDeadline(), t0_ + milliseconds(650));
  EXPECT_EQ(state.Expire(t0_ + milliseconds(650)), Due::kSendPing);
}

TEST_F(SessionStateTest, UnsolicitedPongDoesNotMoveTheDeadline) {
  SessionState state(Transport::kWebSocket, options_, t0_);
  state.OnPacket(Text(PacketType::kPong), t0_ + milliseconds(100));
  EXPECT_EQ(state.NextDeadline(), t0_ + milliseconds(300));
}

TEST_F(SessionStateTest, ClassifiesClientPackets) {
  SessionState state(Transport::kPolling, options_, t0_);
  EXPECT_EQ(state.OnPacket(Text(PacketType::kMessage, "hi"), t0_), Reaction::kDeliver);
  EXPECT_EQ(state.OnPacket(Text(PacketType::kClose), t0_), Reaction::kClose);
  EXPECT_EQ(state.OnPacket(Text(PacketType::kPing), t0_), Reaction::kProtocolError);
  EXPECT_EQ(state.OnPacket(Text(PacketType::kNoop), t0_), Reaction::kIgnore);
}

TEST_F(SessionStateTest, UpgradeProbeThenUpgrade) {
  SessionState state(Transport::kPolling, options_, t0_);
  ASSERT_TRUE(state.BeginUpgrade(t0_));
  EXPECT_TRUE(state.upgrading());
  EXPECT_FALSE(state.BeginUpgrade(t0_)) << "one probe at a time";
  EXPECT_EQ(state.OnProbePacket(Text(PacketType::kUpgrade)), Reaction::kProtocolError)
      << "upgrade before probe";
}

TEST_F(SessionStateTest, UpgradeCompletesAfterProbe) {
  SessionState state(Transport::kPolling, options_, t0_);
  ASSERT_TRUE(state.BeginUpgrade(t0_));
  EXPECT_EQ(state.OnProbePacket(Text(PacketType::kPing, "probe")), Reaction::kAnswerProbe);
  EXPECT_EQ(state.OnProbePacket(Text(PacketType::kUpgrade)), Reaction::kCompleteUpgrade);
  EXPECT_EQ(state.transport(), Transport::kWebSocket);
  EXPECT_FALSE(state.upgrading());
  EXPECT_FALSE(state.BeginUpgrade(t0_)) << "already on WebSocket";
}

TEST_F(SessionStateTest, UpgradeTimesOut) {
  options_.upgrade_timeout = milliseconds(100);
  SessionState state(Transport::kPolling, options_, t0_);
  ASSERT_TRUE(state.BeginUpgrade(t0_));
  EXPECT_EQ(state.NextDeadline(), t0_ + milliseconds(100));
  EXPECT_EQ(state.Expire(t0_ + milliseconds(100)), Due::kUpgradeTimeout);
  EXPECT_FALSE(state.upgrading());
  EXPECT_EQ(state.transport(), Transport::kPolling);
  EXPECT_EQ(state.NextDeadline(), t0_ + milliseconds(300));
}

}  // namespace
}  // namespace roomcast::engineio
