#include "server/storage/memory_event_store.h"

#include <gtest/gtest.h>

namespace roomcast::storage {
namespace {

core::Event Event(std::string nsp) {
  core::Event event;
  event.nsp = std::move(nsp);
  event.packet = core::MakePacket("42[\"e\"]");
  return event;
}

uint64_t Append(MemoryEventStore& store, const std::string& nsp, bool is_volatile = false) {
  absl::StatusOr<core::StreamPosition> position = store.Append(Event(nsp), is_volatile);
  EXPECT_TRUE(position.ok());
  EXPECT_EQ(position->epoch, store.epoch());
  return position->offset;
}

std::vector<uint64_t> Offsets(const std::vector<core::Event>& events) {
  std::vector<uint64_t> out;
  for (const auto& event : events) {
    out.push_back(event.position.offset);
  }
  return out;
}

TEST(MemoryEventStoreTest, NumbersEachNamespaceFromOne) {
  MemoryEventStore store(10);
  for (uint64_t expected = 1; expected <= 5; ++expected) {
    EXPECT_EQ(Append(store, "/"), expected);
  }
  EXPECT_EQ(Append(store, "/admin"), 1u);
  EXPECT_EQ(Offsets(store.ReadAfter("/", 2, 100)), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(Offsets(store.ReadAfter("/", 0, 2)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Offsets(store.ReadAfter("/admin", 0, 100)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(store.ReadAfter("/none", 0, 100).empty());
}

TEST(MemoryEventStoreTest, KeepsOnlyTheNewestCapacityEvents) {
  MemoryEventStore store(3);
  for (int i = 0; i < 5; ++i) Append(store, "/");
  EXPECT_EQ(Offsets(store.ReadAfter("/", 0, 100)), (std::vector<uint64_t>{3, 4, 5}));
}

TEST(MemoryEventStoreTest, VolatileEventsAreNumberedButNotKept) {
  MemoryEventStore store(10);
  EXPECT_EQ(Append(store, "/"), 1u);
  EXPECT_EQ(Append(store, "/", /*is_volatile=*/true), 2u);
  EXPECT_EQ(Append(store, "/"), 3u);
  EXPECT_EQ(Offsets(store.ReadAfter("/", 0, 100)), (std::vector<uint64_t>{1, 3}));
}

TEST(MemoryEventStoreTest, ZeroCapacityNumbersButStoresNothing) {
  MemoryEventStore store(0);
  EXPECT_EQ(Append(store, "/"), 1u);
  EXPECT_TRUE(store.ReadAfter("/", 0, 100).empty());
}

TEST(MemoryEventStoreTest, ANewLogHasANewEpoch) {
  MemoryEventStore first(10);
  MemoryEventStore second(10);
  EXPECT_FALSE(first.epoch().empty());
  EXPECT_NE(first.epoch(), second.epoch());  // a restart is told apart from a quiet log
}

}  // namespace
}  // namespace roomcast::storage
