#include "server/storage/memory_event_store.h"

#include <gtest/gtest.h>

#include "tests/unit/core/read_log.h"

namespace roomcast::storage {
namespace {

using core::Offsets;
using core::ReadLog;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Event Event(std::string nsp, std::vector<std::string> rooms = {}, bool is_volatile = false) {
  core::Event event;
  event.nsp = std::move(nsp);
  event.rooms = std::move(rooms);
  event.packet = core::MakePacket("42[\"e\"]", {}, is_volatile);
  event.time_ms = NowMillis();
  return event;
}

uint64_t Append(MemoryEventStore& store, const core::Event& event) {
  uint64_t offset = 0;
  store.Append(event, "", [&](absl::StatusOr<core::Published> published) {
    ASSERT_TRUE(published.ok());
    EXPECT_EQ(published->position.epoch, event.packet->is_volatile ? "" : store.epoch());
    offset = published->position.offset;
  });
  return offset;
}

uint64_t Append(MemoryEventStore& store, const std::string& nsp) {
  return Append(store, Event(nsp));
}

TEST(MemoryEventStoreTest, NumbersEachNamespaceFromOne) {
  MemoryEventStore store(10);
  for (uint64_t expected = 1; expected <= 5; ++expected) {
    EXPECT_EQ(Append(store, "/"), expected);
  }
  EXPECT_EQ(Append(store, "/admin"), 1u);
  EXPECT_EQ(Offsets(ReadLog(store, "/", 2)), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(Offsets(ReadLog(store, "/", 0, 2)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Offsets(ReadLog(store, "/admin")), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(ReadLog(store, "/none").empty());
  EXPECT_EQ(store.Head("/").offset, 5u);
  EXPECT_EQ(store.Head("/none").offset, 0u);
}

TEST(MemoryEventStoreTest, KeepsOnlyTheNewestCapacityEventsAndSaysSo) {
  MemoryEventStore store(3);
  for (int i = 0; i < 5; ++i) Append(store, "/");
  core::LogQuery query;
  core::LogPage page = core::ReadPage(store, query);
  EXPECT_EQ(Offsets(page.events), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(page.first, 3u);
  EXPECT_EQ(page.last, 5u);
  EXPECT_TRUE(page.Holds(store.epoch(), 2));   // 3 onwards is all there
  EXPECT_FALSE(page.Holds(store.epoch(), 1));  // 2 was dropped
  EXPECT_FALSE(page.Holds("another-log", 4));
  EXPECT_FALSE(page.Holds(store.epoch(), 6));  // ahead of the log: not this history
}

TEST(MemoryEventStoreTest, VolatileEventsAreNeitherNumberedNorKept) {
  MemoryEventStore store(10);
  EXPECT_EQ(Append(store, "/"), 1u);
  EXPECT_EQ(Append(store, Event("/", {}, /*is_volatile=*/true)), 0u);
  EXPECT_EQ(Append(store, "/"), 2u);
  EXPECT_EQ(Offsets(ReadLog(store, "/")), (std::vector<uint64_t>{1, 2}));
}

TEST(MemoryEventStoreTest, ZeroCapacityNumbersButStoresNothing) {
  MemoryEventStore store(0);
  EXPECT_EQ(Append(store, "/"), 1u);
  EXPECT_TRUE(ReadLog(store, "/").empty());
}

TEST(MemoryEventStoreTest, ReadsARoomNewestFirst) {
  MemoryEventStore store(10);
  Append(store, Event("/", {"a"}));       // 1
  Append(store, Event("/", {"b"}));       // 2
  Append(store, Event("/"));              // 3: every room
  Append(store, Event("/", {"b", "a"}));  // 4
  Append(store, Event("/", {"a"}));       // 5
  core::LogQuery query;
  query.room = "a";
  query.reverse = true;
  query.limit = 3;
  EXPECT_EQ(Offsets(core::ReadPage(store, query).events), (std::vector<uint64_t>{5, 4, 3}));
  query.after = 3;
  EXPECT_EQ(Offsets(core::ReadPage(store, query).events), (std::vector<uint64_t>{5, 4}));
  query.reverse = false;
  query.after = 0;
  query.room = "b";
  EXPECT_EQ(Offsets(core::ReadPage(store, query).events), (std::vector<uint64_t>{2, 3, 4}));
}

TEST(MemoryEventStoreTest, DropsEventsOlderThanTheRetention) {
  MemoryEventStore store(10, std::chrono::milliseconds(60000));
  core::Event old = Event("/");
  old.time_ms -= 120000;
  Append(store, old);
  Append(store, "/");
  EXPECT_EQ(Offsets(ReadLog(store, "/")), (std::vector<uint64_t>{2}));
}

TEST(MemoryEventStoreTest, ANewLogHasANewEpoch) {
  MemoryEventStore first(10);
  MemoryEventStore second(10);
  EXPECT_FALSE(first.epoch().empty());
  EXPECT_NE(first.epoch(), second.epoch());  // a restart is told apart from a quiet log
}

}  // namespace
}  // namespace roomcast::storage
