#include "server/socketio/connection.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "tests/unit/socketio/fake_link.h"

namespace roomcast::socketio {
namespace {

namespace json = boost::json;

// Echoes `echo` events, acks `ack` events, refuses CONNECTs with auth {"deny":true}.
class TestHandler : public Handler {
 public:
  absl::Status Authorize(Socket& socket) override {
    return socket.auth().contains("deny") ? absl::PermissionDeniedError("denied")
                                          : absl::OkStatus();
  }
  void OnConnected(Socket& socket) override { connected.push_back(socket.id()); }
  void OnEvent(Socket& socket, Event event) override {
    if (event.name == "echo") {
      socket.Emit("echo-back", event.args, std::move(event.attachments));
    } else if (event.name == "ack" && event.ack_id) {
      socket.Ack(*event.ack_id, event.args, std::move(event.attachments));
    } else if (event.name == "ask") {
      socket.EmitWithAck("question", {}, {}, [this](json::array args, std::vector<std::string>) {
        answers.push_back(json::serialize(args));
      });
    }
  }
  void OnDisconnect(Socket& socket, std::string_view reason) override {
    disconnects.emplace_back(reason);
  }

  std::vector<std::string> connected;
  std::vector<std::string> answers;
  std::vector<std::string> disconnects;
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() : connection_(namespaces_, link_, rooms_, counters_) {
    namespaces_.Add("/", handler_);
    namespaces_.Add("/admin", handler_);
  }
  std::string Last() const { return link_.sent.empty() ? "" : link_.sent.back(); }

  TestHandler handler_;
  Namespaces namespaces_;
  FakeLink link_;
  core::RoomIndex rooms_;
  base::Counters counters_;
  Connection connection_;
};

TEST_F(ConnectionTest, ConnectAnswersWithANewSocketIdInItsOwnRoom) {
  connection_.OnText("0");
  ASSERT_EQ(handler_.connected.size(), 1u);
  const std::string& id = handler_.connected[0];
  EXPECT_EQ(Last(), R"(40{"sid":")" + id + R"("})");
  EXPECT_EQ(rooms_.RoomSize("/", id), 1u);
  EXPECT_EQ(rooms_.MemberCount("/"), 1u);
}

TEST_F(ConnectionTest, UnknownNamespaceGetsConnectError) {
  connection_.OnText("0/nope,");
  EXPECT_EQ(Last(), R"(44/nope,{"message":"Invalid namespace"})");
  EXPECT_FALSE(link_.closed);
}

TEST_F(ConnectionTest, RefusedConnectCarriesTheMessage) {
  connection_.OnText(R"(0/admin,{"deny":true})");
  EXPECT_EQ(Last(), R"(44/admin,{"message":"denied"})");
  EXPECT_EQ(rooms_.MemberCount("/admin"), 0u);
}

TEST_F(ConnectionTest, EventsAndAcksRoundTripWithBinary) {
  connection_.OnText("0");
  connection_.OnText(R"(2["echo",1,"two"])");
  EXPECT_EQ(Last(), R"(42["echo-back",1,"two"])");
  connection_.OnText(R"(51-7["ack",{"_placeholder":true,"num":0}])");
  connection_.OnBinary("\x01\x02");
  ASSERT_GE(link_.sent.size(), 2u);
  EXPECT_EQ(link_.sent[link_.sent.size() - 2], R"(461-7[{"_placeholder":true,"num":0}])");
  EXPECT_EQ(Last(), "<bin:\x01\x02>");
}

TEST_F(ConnectionTest, ServerToClientAckRunsTheCallback) {
  connection_.OnText("0");
  connection_.OnText(R"(2["ask"])");
  EXPECT_EQ(Last(), R"(420["question"])");
  connection_.OnText(R"(30["yes"])");
  EXPECT_EQ(handler_.answers, std::vector<std::string>{R"(["yes"])"});
  connection_.OnText(R"(30["again"])");  // Each ack id answers once.
  EXPECT_EQ(handler_.answers.size(), 1u);
}

TEST_F(ConnectionTest, PacketForUnconnectedNamespaceClosesTheSession) {
  connection_.OnText(R"(2["echo"])");
  EXPECT_EQ(link_.closed, "parse error");
  EXPECT_EQ(counters_.protocol_errors.load(), 1u);
}

TEST_F(ConnectionTest, MalformedPacketClosesTheSession) {
  connection_.OnText("0");
  connection_.OnText(R"(2abc["echo"])");
  EXPECT_EQ(link_.closed, "parse error");
}

TEST_F(ConnectionTest, SecondConnectToTheSameNamespaceClosesTheSession) {
  connection_.OnText("0");
  connection_.OnText("0");
  EXPECT_EQ(link_.closed, "parse error");
}

TEST_F(ConnectionTest, DisconnectLeavesOneNamespaceAndKeepsTheSession) {
  connection_.OnText("0");
  connection_.OnText("0/admin,");
  connection_.OnText("1/admin,");
  EXPECT_EQ(handler_.disconnects, std::vector<std::string>{"client namespace disconnect"});
  EXPECT_EQ(rooms_.MemberCount("/admin"), 0u);
  EXPECT_EQ(rooms_.MemberCount("/"), 1u);
  EXPECT_FALSE(link_.closed);
}

TEST_F(ConnectionTest, ServerDisconnectTellsTheClient) {
  connection_.OnText("0/admin,");
  connection_.Disconnect("/admin");
  EXPECT_EQ(Last(), "41/admin,");
  EXPECT_EQ(handler_.disconnects, std::vector<std::string>{"server namespace disconnect"});
}

TEST_F(ConnectionTest, CloseDisconnectsEverySocketWithTheReason) {
  connection_.OnText("0");
  connection_.OnText("0/admin,");
  connection_.OnClose("ping timeout");
  EXPECT_EQ(handler_.disconnects, (std::vector<std::string>{"ping timeout", "ping timeout"}));
  EXPECT_EQ(rooms_.MemberCount("/"), 0u);
  EXPECT_EQ(rooms_.MemberCount("/admin"), 0u);
}

TEST_F(ConnectionTest, MoreAttachmentsThanAllowedCloseTheSession) {
  namespaces_.set_max_attachments(1);
  Connection strict(namespaces_, link_, rooms_, counters_);
  strict.OnText("0");
  strict.OnText(R"(51-["echo",{"_placeholder":true,"num":0}])");
  strict.OnBinary("a");
  EXPECT_FALSE(link_.closed);
  strict.OnText(R"(52-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  EXPECT_EQ(link_.closed, "parse error");
}

TEST_F(ConnectionTest, ConnectTimeoutClosesOnlyWithoutAnyNamespace) {
  connection_.OnConnectTimeout();
  EXPECT_EQ(link_.closed, "connect timeout");
}

TEST_F(ConnectionTest, ConnectTimeoutIgnoredOnceConnected) {
  connection_.OnText("0");
  connection_.OnConnectTimeout();
  EXPECT_FALSE(link_.closed);
}

TEST_F(ConnectionTest, DeferredTasksSkipSocketsThatLeft) {
  connection_.OnText("0/admin,");
  // Grab the socket through the room index: it is the only /admin member.
  std::vector<core::Member*> members = rooms_.Select("/admin", {}, {});
  ASSERT_EQ(members.size(), 1u);
  auto* socket = static_cast<Socket*>(members[0]);
  int ran = 0;
  auto deferred = socket->Deferred();
  deferred([&](Socket&) { ++ran; });
  deferred([&](Socket&) { ++ran; });
  std::move((*link_.posted)[0])();
  connection_.OnText("1/admin,");
  std::move((*link_.posted)[1])();
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace roomcast::socketio
