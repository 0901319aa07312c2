#include "server/socketio/recovery.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <thread>

#include "server/socketio/connection.h"
#include "server/storage/memory_event_store.h"
#include "server/storage/memory_session_store.h"
#include "tests/unit/socketio/fake_link.h"

namespace roomcast::socketio {
namespace {

namespace json = boost::json;

// `join` puts the socket in a room; auth {"user":"..."} is who it is, and
// {"deny":true} is refused.
class JoiningHandler : public Handler {
 public:
  absl::Status Authorize(Socket& socket) override {
    if (socket.auth().contains("deny")) {
      return absl::UnauthenticatedError("token expired");
    }
    if (const json::value* user = socket.auth().if_contains("user")) {
      socket.set_identity(std::string(user->as_string()), {});
    }
    return absl::OkStatus();
  }
  void OnEvent(Socket& socket, Event event) override {
    if (event.name == "join") {
      socket.Join(event.args.at(0).as_string());
    }
  }
};

class RecoveryTest : public ::testing::Test {
 protected:
  explicit RecoveryTest(size_t log_size = 100,
                        std::chrono::milliseconds window = std::chrono::minutes(1))
      : log_(log_size), sessions_(log_, window), recovery_(sessions_, log_, 100) {
    namespaces_.Add("/", handler_);
    namespaces_.set_recovery(&recovery_);
  }

  // A client's connection: its link and the Socket.IO layer over it.
  struct Client {
    FakeLink link;
    std::unique_ptr<Connection> connection;
    // The CONNECT reply's sid and pid.
    std::pair<std::string, std::string> Ids() const {
      for (const std::string& text : link.sent) {
        if (text.starts_with("40{")) {
          json::object reply = json::parse(text.substr(2)).as_object();
          return {std::string(reply["sid"].as_string()), std::string(reply["pid"].as_string())};
        }
      }
      return {};
    }
  };
  std::unique_ptr<Client> Connect(const std::string& packet = "0") {
    auto client = std::make_unique<Client>();
    client->connection = std::make_unique<Connection>(namespaces_, client->link, rooms_, counters_);
    client->connection->OnText(packet);
    client->link.RunPosted();
    return client;
  }
  // Logs an event as the emitter would; its offset.
  uint64_t Log(const std::string& name, std::vector<std::string> rooms,
               std::vector<std::string> except = {}) {
    core::Event event;
    event.nsp = "/";
    event.rooms = std::move(rooms);
    event.except = std::move(except);
    event.packet = core::MakePacket(absl::StrCat(R"(42[")", name, R"("])"));
    event.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    uint64_t offset = 0;
    log_.Append(event, "", [&](absl::StatusOr<core::Published> published) {
      offset = published->position.offset;
    });
    return offset;
  }
  std::string Offset(uint64_t offset) const { return absl::StrCat(log_.epoch(), ":", offset); }
  std::string Tagged(const std::string& name, uint64_t offset) const {
    return absl::StrCat(R"(42[")", name, R"(",")", Offset(offset), R"("])");
  }
  std::string Resume(const std::string& pid, std::optional<uint64_t> offset,
                     const std::string& extra = "") const {
    return absl::StrCat(R"(0{"pid":")", pid, "\"",
                        offset ? absl::StrCat(R"(,"offset":")", Offset(*offset), "\"") : "", extra,
                        "}");
  }

  JoiningHandler handler_;
  Namespaces namespaces_;
  core::RoomIndex rooms_;
  base::Counters counters_;
  storage::MemoryEventStore log_;
  storage::MemorySessionStore sessions_;
  Recovery recovery_;
};

TEST_F(RecoveryTest, TheConnectReplyCarriesAPrivateId) {
  std::unique_ptr<Client> client = Connect();
  auto [sid, pid] = client->Ids();
  EXPECT_FALSE(sid.empty());
  EXPECT_FALSE(pid.empty());
  EXPECT_NE(sid, pid);
}

TEST_F(RecoveryTest, AReturningClientGetsItsIdRoomsAndWhatItMissedBeforeTheConnectReply) {
  std::unique_ptr<Client> first = Connect();
  first->connection->OnText(R"(2["join","news"])");
  const auto [sid, pid] = first->Ids();
  const uint64_t seen = Log("seen", {"news"});
  first->connection->OnClose("transport close");
  const uint64_t missed = Log("missed", {"news"});
  Log("elsewhere", {"sports"});
  const uint64_t everyone = Log("everyone", {});
  Log("excepted", {}, {"news"});

  std::unique_ptr<Client> again = Connect(Resume(pid, seen));
  EXPECT_EQ(
      again->link.sent,
      (std::vector<std::string>{Tagged("missed", missed), Tagged("everyone", everyone),
                                absl::StrCat(R"(40{"sid":")", sid, R"(","pid":")", pid, R"("})")}));
  EXPECT_EQ(rooms_.RoomSize("/", "news"), 1u);
  EXPECT_EQ(counters_.sessions_recovered.load(), 1u);
}

TEST_F(RecoveryTest, AClientThatNeverReceivedAnEventResumesFromWhereItJoined) {
  Log("before", {});
  std::unique_ptr<Client> first = Connect();
  const auto [sid, pid] = first->Ids();
  first->connection->OnClose("ping timeout");
  const uint64_t after = Log("after", {});
  std::unique_ptr<Client> again = Connect(Resume(pid, std::nullopt));
  ASSERT_EQ(again->link.sent.size(), 2u);
  EXPECT_EQ(again->link.sent[0], Tagged("after", after));
  EXPECT_EQ(again->Ids().first, sid);
}

TEST_F(RecoveryTest, RecoversTwiceInARow) {
  std::unique_ptr<Client> client = Connect();
  const auto [sid, pid] = client->Ids();
  for (int round = 0; round < 2; ++round) {
    client->connection->OnClose("transport close");
    const uint64_t offset = Log("tick", {});
    client = Connect(Resume(pid, offset - 1));
    EXPECT_EQ(client->Ids(), std::make_pair(sid, pid)) << "round " << round;
    EXPECT_EQ(client->link.sent.front(), Tagged("tick", offset));
  }
}

TEST_F(RecoveryTest, LiveEventsHeldDuringTheReplayAreNotSentTwice) {
  std::unique_ptr<Client> first = Connect();
  const auto [sid, pid] = first->Ids();
  first->connection->OnClose("transport close");
  const uint64_t missed = Log("missed", {});

  // The session is claimed and the socket attached; its replay not read yet.
  auto client = std::make_unique<Client>();
  client->connection = std::make_unique<Connection>(namespaces_, client->link, rooms_, counters_);
  client->connection->OnText(Resume(pid, missed - 1));
  ASSERT_EQ(client->link.posted->size(), 1u);
  std::move(client->link.posted->front())();  // the claim's answer: attach, read the log
  client->link.posted->erase(client->link.posted->begin());
  // Delivered live meanwhile: one the replay also has, one newer, one unlogged.
  auto live = [&](std::string text, uint64_t offset) {
    auto packet = std::make_shared<core::EncodedPacket>();
    packet->text = std::move(text);
    packet->offset = offset;
    for (core::Member* member : rooms_.Select("/", {}, {})) {
      member->Deliver(packet);
    }
  };
  live(Tagged("missed", missed), missed);
  live(Tagged("newer", missed + 1), missed + 1);
  live(R"(42["volatile"])", 0);
  EXPECT_TRUE(client->link.sent.empty());  // held
  client->link.RunPosted();
  ASSERT_EQ(client->link.sent.size(), 4u);
  EXPECT_EQ(client->link.sent[0], Tagged("missed", missed));
  EXPECT_TRUE(client->link.sent[1].starts_with("40{"));
  EXPECT_EQ(client->link.sent[2], Tagged("newer", missed + 1));
  EXPECT_EQ(client->link.sent[3], R"(42["volatile"])");
}

TEST_F(RecoveryTest, UnknownPidsCleanDisconnectsAndOtherUsersGetAFreshSession) {
  std::unique_ptr<Client> stranger = Connect(Resume("no-such-pid", 1));
  EXPECT_NE(stranger->Ids().second, "no-such-pid");

  std::unique_ptr<Client> leaving = Connect();
  const auto [sid, pid] = leaving->Ids();
  leaving->connection->OnText("1");  // The client left on purpose.
  EXPECT_NE(Connect(Resume(pid, std::nullopt))->Ids().first, sid);

  std::unique_ptr<Client> alice = Connect(R"(0{"user":"alice"})");
  const auto [alice_sid, alice_pid] = alice->Ids();
  alice->connection->OnClose("transport close");
  std::unique_ptr<Client> mallory =
      Connect(Resume(alice_pid, std::nullopt, R"(,"user":"mallory")"));
  EXPECT_NE(mallory->Ids().first, alice_sid);
  EXPECT_NE(mallory->Ids().second, alice_pid);
  // Alice herself still gets it back.
  EXPECT_EQ(Connect(Resume(alice_pid, std::nullopt, R"(,"user":"alice")"))->Ids().first, alice_sid);
}

TEST_F(RecoveryTest, ARefusedReconnectKeepsTheSessionForTheNextAttempt) {
  std::unique_ptr<Client> first = Connect();
  const auto [sid, pid] = first->Ids();
  first->connection->OnClose("transport close");
  const uint64_t missed = Log("missed", {});
  std::unique_ptr<Client> refused = Connect(Resume(pid, missed - 1, R"(,"deny":true)"));
  EXPECT_EQ(refused->link.sent, std::vector<std::string>{R"(44{"message":"token expired"})"});
  std::unique_ptr<Client> again = Connect(Resume(pid, missed - 1));  // with a fresh token
  EXPECT_EQ(again->Ids(), std::make_pair(sid, pid));
  EXPECT_EQ(again->link.sent.front(), Tagged("missed", missed));
}

class TrimmedLogTest : public RecoveryTest {
 protected:
  TrimmedLogTest() : RecoveryTest(/*log_size=*/2) {}
};

TEST_F(TrimmedLogTest, AnOffsetTheLogNoLongerHoldsStartsAfresh) {
  std::unique_ptr<Client> first = Connect();
  const auto [sid, pid] = first->Ids();
  const uint64_t seen = Log("seen", {});
  first->connection->OnClose("transport close");
  for (int i = 0; i < 3; ++i) {
    Log("missed", {});
  }
  std::unique_ptr<Client> again = Connect(Resume(pid, seen));
  // Never a partial replay passed off as complete: nothing, and new ids.
  ASSERT_EQ(again->link.sent.size(), 1u);
  EXPECT_NE(again->Ids().first, sid);
  EXPECT_NE(again->Ids().second, pid);
  EXPECT_EQ(counters_.sessions_not_recovered.load(), 1u);
}

class ShortWindowTest : public RecoveryTest {
 protected:
  ShortWindowTest() : RecoveryTest(100, std::chrono::milliseconds(1)) {}
};

TEST_F(ShortWindowTest, AfterTheWindowTheSessionIsGone) {
  std::unique_ptr<Client> first = Connect();
  const auto [sid, pid] = first->Ids();
  first->connection->OnClose("transport close");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NE(Connect(Resume(pid, std::nullopt))->Ids().first, sid);
}

}  // namespace
}  // namespace roomcast::socketio
