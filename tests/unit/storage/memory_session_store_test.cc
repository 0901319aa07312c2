#include "server/storage/memory_session_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "server/storage/memory_event_store.h"

namespace roomcast::storage {
namespace {

core::SessionRecord Record(std::string pid, std::string owner = "owner-1") {
  core::SessionRecord record;
  record.nsp = "/";
  record.pid = std::move(pid);
  record.sid = "sid-" + record.pid;
  record.rooms = {record.sid, "news"};
  record.owner = std::move(owner);
  return record;
}

std::optional<core::SessionRecord> Claim(MemorySessionStore& store, const std::string& pid) {
  std::optional<core::SessionRecord> claimed;
  store.Claim("/", pid, [&](std::optional<core::SessionRecord> record) { claimed = record; });
  return claimed;
}

class MemorySessionStoreTest : public ::testing::Test {
 protected:
  MemoryEventStore log_{10};
  MemorySessionStore store_{log_, std::chrono::minutes(1)};
};

TEST_F(MemorySessionStoreTest, ASuspendedSessionIsClaimedOnceWithItsRoomsAndJoinPoint) {
  core::Event event;
  event.nsp = "/";
  event.packet = core::MakePacket("42[\"e\"]");
  event.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  log_.Append(event, "", [](absl::StatusOr<core::Published>) {});
  store_.Save(Record("p1"));
  core::SessionRecord later = Record("p1");
  later.rooms.push_back("sports");
  store_.Suspend(later);
  std::optional<core::SessionRecord> claimed = Claim(store_, "p1");
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->sid, "sid-p1");
  EXPECT_EQ(claimed->rooms.size(), 3u);
  EXPECT_EQ(claimed->joined.offset, 1u);  // the log's head when it connected
  EXPECT_EQ(claimed->joined.epoch, log_.epoch());
  EXPECT_FALSE(Claim(store_, "p1"));  // once
  EXPECT_FALSE(Claim(store_, "unknown"));
}

TEST_F(MemorySessionStoreTest, OnlyTheOwnerSuspendsOrDrops) {
  store_.Save(Record("p1", "new-owner"));
  store_.Drop(Record("p1", "old-owner"));  // an old node noticing late
  EXPECT_TRUE(Claim(store_, "p1"));
  store_.Save(Record("p2"));
  store_.Drop(Record("p2"));
  EXPECT_FALSE(Claim(store_, "p2"));
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(MemorySessionStoreTest, AConnectedSessionIsClaimableItsClientIsBackEarly) {
  store_.Save(Record("p1"));
  EXPECT_TRUE(Claim(store_, "p1"));
}

TEST(MemorySessionStoreWindowTest, ExpiresAfterTheWindow) {
  MemoryEventStore log(10);
  MemorySessionStore store(log, std::chrono::milliseconds(1));
  store.Save(Record("p1"));
  store.Suspend(Record("p1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(Claim(store, "p1"));
}

}  // namespace
}  // namespace roomcast::storage
