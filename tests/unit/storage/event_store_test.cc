#include "server/storage/event_store.h"

#include <gtest/gtest.h>

namespace roomcast::storage {
namespace {

broker::Envelope Event(std::string nsp, uint64_t offset) {
  broker::Envelope event;
  event.nsp = std::move(nsp);
  event.offset = offset;
  event.packet = core::MakePacket("42[\"e\"]");
  return event;
}

std::vector<uint64_t> Offsets(const std::vector<broker::Envelope>& events) {
  std::vector<uint64_t> out;
  for (const auto& event : events) {
    out.push_back(event.offset);
  }
  return out;
}

TEST(MemoryEventStoreTest, ReadsAfterAnOffsetPerNamespace) {
  MemoryEventStore store(10);
  for (uint64_t offset = 1; offset <= 5; ++offset) {
    store.Append(Event("/", offset));
  }
  store.Append(Event("/admin", 1));
  EXPECT_EQ(Offsets(store.ReadAfter("/", 2, 100)), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(Offsets(store.ReadAfter("/", 0, 2)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Offsets(store.ReadAfter("/admin", 0, 100)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(store.ReadAfter("/none", 0, 100).empty());
}

TEST(MemoryEventStoreTest, KeepsOnlyTheNewestCapacityEvents) {
  MemoryEventStore store(3);
  for (uint64_t offset = 1; offset <= 5; ++offset) {
    store.Append(Event("/", offset));
  }
  EXPECT_EQ(Offsets(store.ReadAfter("/", 0, 100)), (std::vector<uint64_t>{3, 4, 5}));
}

TEST(MemoryEventStoreTest, ZeroCapacityStoresNothing) {
  MemoryEventStore store(0);
  store.Append(Event("/", 1));
  EXPECT_TRUE(store.ReadAfter("/", 0, 100).empty());
}

}  // namespace
}  // namespace roomcast::storage
