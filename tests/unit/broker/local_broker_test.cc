#include "server/broker/local_broker.h"

#include <gtest/gtest.h>

#include <optional>

#include "server/storage/memory_event_store.h"
#include "tests/unit/core/read_log.h"

namespace roomcast::broker {
namespace {

core::Event EventFor(bool is_volatile) {
  core::Event event;
  event.nsp = "/";
  event.rooms = {"room"};
  event.packet = core::MakePacket(R"(42["tick"])", {}, is_volatile);
  event.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return event;
}

TEST(LocalBrokerTest, TheLocalLogNumbersEachEventInOrder) {
  storage::MemoryEventStore log(10);
  LocalBroker broker(log, core::NodeStatus::Named("node-1"));
  std::vector<uint64_t> offsets;
  for (bool is_volatile : {false, true, false}) {
    broker.Publish(EventFor(is_volatile), "", [&](absl::StatusOr<core::Published> published) {
      ASSERT_TRUE(published.ok());
      EXPECT_FALSE(published->duplicate);
      EXPECT_EQ(published->position.epoch, is_volatile ? "" : log.epoch());
      offsets.push_back(published->position.offset);
    });
  }
  // The volatile one is neither numbered nor kept.
  EXPECT_EQ(offsets, (std::vector<uint64_t>{1, 0, 2}));
  EXPECT_EQ(core::ReadLog(log, "/").size(), 2u);
}

TEST(LocalBrokerTest, ASingleNodeNeverHearsItsOwnEventsBack) {
  storage::MemoryEventStore log(10);
  LocalBroker broker(log, core::NodeStatus::Named("node-1"));
  int heard = 0;
  broker.SetHandlers(
      {[&](std::shared_ptr<const core::Event>) { ++heard; }, [&](core::RoomCommand) { ++heard; },
       [&](std::string, absl::AnyInvocable<void(std::string) &&>) { ++heard; }, nullptr});
  for (int i = 0; i < 3; ++i) {
    broker.Publish(EventFor(false), "key", [](absl::StatusOr<core::Published>) {});
  }
  // The emitting node delivers to its own sockets itself: an echo would
  // deliver every event twice.
  EXPECT_EQ(heard, 0);
}

TEST(LocalBrokerTest, NobodyElseToAsk) {
  storage::MemoryEventStore log(10);
  LocalBroker broker(log, core::NodeStatus::Named("node-1"));
  std::optional<size_t> answers;
  broker.AskOthers("JoinRooms", [&](absl::StatusOr<std::vector<std::string>> result) {
    ASSERT_TRUE(result.ok());
    answers = result->size();
  });
  EXPECT_EQ(answers, 0u);
}

TEST(LocalBrokerTest, TheClusterIsThisNode) {
  storage::MemoryEventStore log(10);
  LocalBroker broker(log, core::NodeStatus::Named("node-1", "1.0"));
  std::vector<core::NodeStatus> nodes;
  broker.Nodes([&](absl::StatusOr<std::vector<core::NodeStatus>> result) {
    ASSERT_TRUE(result.ok());
    nodes = *result;
  });
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes.front().id, "node-1");
}

}  // namespace
}  // namespace roomcast::broker
