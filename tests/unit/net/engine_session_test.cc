// The session's teardown under the callbacks that end it: each case closes
// the session from inside one of its own handlers (under ASan, a use after
// free fails the test) and then checks that nothing of it is left behind.
#include "server/net/engine_session.h"

#include <gtest/gtest.h>

#include "tests/unit/net/session_rig.h"

namespace roomcast::net {
namespace {

using testing::RigOptions;
using testing::SessionRig;

TEST(EngineSessionTest, MalformedEventOverWebSocketClosesOnlyThatSession) {
  SessionRig rig(RigOptions{.websocket = true});
  rig.WebSocketText("40");
  rig.RunLoop();
  ASSERT_EQ(rig.shard().rooms().MemberCount("/"), 1u);
  rig.WebSocketText(R"(42{"not":"an array"})");  // the decoder refuses it inside OnMessage
  EXPECT_TRUE(rig.websocket().closed());
  EXPECT_EQ(rig.counters().protocol_errors.load(), 1u);
  EXPECT_EQ(rig.shard().rooms().MemberCount("/"), 0u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, UnannouncedBinaryOverWebSocketClosesTheSession) {
  SessionRig rig(RigOptions{.websocket = true});
  rig.WebSocketText("40");
  rig.WebSocketBinary("\x01\x02\x03");
  EXPECT_TRUE(rig.websocket().closed());
  EXPECT_EQ(rig.counters().protocol_errors.load(), 1u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, MalformedEventOverPollingClosesTheSession) {
  SessionRig rig(RigOptions{});
  rig.Post("40");
  rig.Get();
  rig.RunLoop();
  ASSERT_TRUE(rig.last_answer().has_value());
  rig.Post(R"(42{"not":"an array"})");
  EXPECT_EQ(rig.last_answer(), "ok");  // the POST itself succeeded
  EXPECT_EQ(rig.counters().protocol_errors.load(), 1u);
  ASSERT_FALSE(rig.session_gone()) << "a closed polling session waits for its last GET";
  EXPECT_TRUE(rig.session()->closed());
  EXPECT_EQ(rig.shard().rooms().MemberCount("/"), 0u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ConnectTimeoutAndPingTimeoutDueInOneTurn) {
  // Both deadlines pass before the loop runs: the first to fire closes the
  // session, the second must find it closed, not freed.
  SessionRig rig(
      RigOptions{.websocket = true, .pong_due_at_once = true, .connect_due_at_once = true});
  rig.RunLoop();
  EXPECT_TRUE(rig.session_gone());
  EXPECT_EQ(rig.counters().sessions_closed.load(), 1u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ConnectTimeoutClosesASessionThatNeverConnects) {
  SessionRig rig(RigOptions{.websocket = true, .connect_due_at_once = true});
  rig.RunLoop();
  EXPECT_TRUE(rig.websocket().closed());
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ConnectedSessionOutlivesItsConnectTimeout) {
  SessionRig rig(RigOptions{.websocket = true, .connect_due_at_once = true});
  rig.WebSocketText("40");  // before the loop runs the due deadline
  rig.RunLoop();
  EXPECT_FALSE(rig.websocket().closed());
  EXPECT_EQ(rig.shard().rooms().MemberCount("/"), 1u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, SlowConsumerIsClosedInTheMiddleOfAFanOut) {
  SessionRig rig(RigOptions{.websocket = true, .send_queue_bytes = 512});
  rig.WebSocketText("40");
  rig.WebSocketText(R"(420["join","a"])");
  rig.RunLoop();  // the first write stays in flight: later packets queue up
  for (int i = 0; i < 64; ++i) rig.Emit("a");
  rig.RunLoop();
  EXPECT_EQ(rig.counters().slow_consumer_disconnects.load(), 1u);
  EXPECT_TRUE(rig.websocket().closed());
  EXPECT_EQ(rig.shard().rooms().RoomSize("/", "a"), 0u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ControlPlaneDisconnectEndsEveryNamespace) {
  SessionRig rig(RigOptions{.websocket = true, .sync_writes = true});
  rig.WebSocketText("40");
  rig.WebSocketText("40/admin,");
  rig.RunLoop();
  ASSERT_EQ(rig.shard().rooms().MemberCount("/admin"), 1u);
  rig.DisconnectAll(/*close_connection=*/true);
  EXPECT_TRUE(rig.websocket().closed());
  EXPECT_EQ(rig.shard().rooms().MemberCount("/admin"), 0u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, WriteFailureClosesTheSession) {
  SessionRig rig(RigOptions{.websocket = true});
  rig.WebSocketText("40");
  rig.RunLoop();
  rig.FinishWrites(/*fail=*/true);
  ASSERT_FALSE(rig.session_gone()) << "released later, not inside the write's callback";
  EXPECT_TRUE(rig.session()->closed());
  EXPECT_EQ(rig.shard().rooms().MemberCount("/"), 0u);
  rig.RunLoop();
  EXPECT_TRUE(rig.session_gone()) << "the posted release ran";
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, UpgradeCompletesAndARefusedSecondOneChangesNothing) {
  SessionRig rig(RigOptions{.sync_writes = true});
  rig.Post("40");
  rig.Get();
  rig.RunLoop();
  rig.Upgrade(/*handshake_ok=*/true);
  rig.ProbeText("2probe");
  rig.ProbeText("5");
  ASSERT_EQ(rig.session()->transport(), engineio::Transport::kWebSocket);
  EXPECT_FALSE(rig.session()->BeginUpgrade().has_value());  // already upgraded
  rig.WebSocketText(R"(420["join","a"])");
  rig.RunLoop();
  EXPECT_EQ(rig.shard().rooms().RoomSize("/", "a"), 1u);
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ProbeHandshakeThatFinishesAfterTheSessionClosedIsClosed) {
  SessionRig rig(RigOptions{});
  std::optional<uint64_t> attempt = rig.session()->BeginUpgrade();
  ASSERT_TRUE(attempt.has_value());
  rig.Shutdown();
  auto late = std::make_shared<testing::FakeChannel>(rig.shard().io(), true);
  std::shared_ptr<EngineSession> closed = rig.session();
  ASSERT_NE(closed, nullptr);
  closed->OnProbeOpened(*attempt, late);
  EXPECT_TRUE(late->closed());
  closed.reset();
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ServerCloseWithNoPollPendingAnswersTheNextPollWithNoopAndClose) {
  SessionRig rig(RigOptions{});
  rig.Post("40");
  rig.Get();
  rig.RunLoop();
  rig.DisconnectAll(/*close_connection=*/true);  // no GET is pending
  EXPECT_EQ(rig.shard().sessions().size(), 1u);  // it waits for the poll
  EXPECT_EQ(rig.shard().rooms().MemberCount("/"), 0u);
  rig.Post(R"(42["ignored"])");
  EXPECT_EQ(rig.last_answer(), "ok");
  rig.Get();
  EXPECT_EQ(rig.last_answer(),
            "6\x1e"
            "1");
  EXPECT_TRUE(rig.shard().sessions().empty());
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ServerCloseKeepsWhatWasQueuedForTheLastPoll) {
  SessionRig rig(RigOptions{});
  rig.Post("40");
  rig.Get();
  rig.RunLoop();
  rig.Emit("");  // queued: no GET is pending
  rig.RunLoop();
  rig.DisconnectAll(/*close_connection=*/true);
  rig.Get();
  EXPECT_EQ(rig.last_answer(),
            "42[\"news\",1,\"two\"]\x1e"
            "1");
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, ServerCloseOverWebSocketWritesWhatWasQueuedFirst) {
  SessionRig rig(RigOptions{.websocket = true, .sync_writes = true});
  rig.WebSocketText("40");
  rig.RunLoop();
  rig.Emit("");
  rig.shard().io().run_one();  // delivered to the session's queue, its flush not run yet...
  rig.DisconnectAll(/*close_connection=*/true);  // ...when the close comes
  rig.RunLoop();
  ASSERT_FALSE(rig.websocket().sent().empty());
  EXPECT_EQ(rig.websocket().sent().back(), R"(42["news",1,"two"])");
  EXPECT_TRUE(rig.websocket().closed());
  EXPECT_TRUE(rig.CloseAndDrain());
}

TEST(EngineSessionTest, PingTimeoutEndsAPollingSessionAtOnce) {
  SessionRig rig(RigOptions{.pong_due_at_once = true});
  rig.RunLoop();
  EXPECT_TRUE(rig.shard().sessions().empty());  // the next GET gets 400, as the suites expect
  EXPECT_TRUE(rig.CloseAndDrain());
}

}  // namespace
}  // namespace roomcast::net
