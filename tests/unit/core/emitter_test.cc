#include "server/core/emitter.h"

#include <deque>

#include <gtest/gtest.h>

namespace roomcast::core {
namespace {

struct RecordingRecipient : Recipient {
  bool Deliver(const SharedPacket& packet) override {
    received.push_back(packet);
    return accept;
  }
  std::vector<SharedPacket> received;
  bool accept = true;
};

// Shards run their tasks when the test says so, like posted work would.
class QueuedShards : public ShardSet {
 public:
  explicit QueuedShards(size_t n) : rooms_(n) {}
  size_t size() const override { return rooms_.size(); }
  void Run(size_t shard, absl::AnyInvocable<void(RoomIndex&) &&> task) override {
    tasks_.emplace_back(shard, std::move(task));
  }
  void RunAll() {
    while (!tasks_.empty()) {
      auto [shard, task] = std::move(tasks_.front());
      tasks_.pop_front();
      std::move(task)(rooms_[shard]);
    }
  }
  RoomIndex& rooms(size_t shard) { return rooms_[shard]; }

 private:
  std::vector<RoomIndex> rooms_;
  std::deque<std::pair<size_t, absl::AnyInvocable<void(RoomIndex&) &&>>> tasks_;
};

class EmitterTest : public ::testing::Test {
 protected:
  EmitterTest() : shards_(2), emitter_(shards_, counters_) {
    for (size_t i = 0; i < 2; ++i) {
      shards_.rooms(i).AddMember("/", &sockets_[i]);
      shards_.rooms(i).Join("/", "room", &sockets_[i]);
    }
    shards_.rooms(1).AddMember("/", &outsider_);
  }

  absl::StatusOr<EmitResult> Emit(EmitRequest request) {
    absl::StatusOr<EmitResult> result = absl::UnknownError("not done");
    emitter_.Emit(std::move(request), [&](absl::StatusOr<EmitResult> r) { result = r; });
    shards_.RunAll();
    return result;
  }

  Counters counters_;
  QueuedShards shards_;
  Emitter emitter_;
  RecordingRecipient sockets_[2];
  RecordingRecipient outsider_;
};

TEST_F(EmitterTest, EncodesOnceAndDeliversTheSameBufferToEveryShard) {
  EmitRequest request;
  request.rooms = {"room"};
  request.event = "order.created";
  request.args_json = R"({"id":7})";
  auto result = Emit(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->recipients, 2u);
  ASSERT_EQ(sockets_[0].received.size(), 1u);
  ASSERT_EQ(sockets_[1].received.size(), 1u);
  EXPECT_EQ(sockets_[0].received[0].get(), sockets_[1].received[0].get()) << "one shared packet";
  EXPECT_EQ(sockets_[0].received[0]->text, R"(42["order.created",{"id":7}])");
  EXPECT_TRUE(outsider_.received.empty());
  EXPECT_EQ(counters_.deliveries.load(), 2u);
}

TEST_F(EmitterTest, OffsetsIncreasePerNamespace) {
  EmitRequest request;
  request.event = "tick";
  EXPECT_EQ(Emit(request)->offset, 1u);
  EXPECT_EQ(Emit(request)->offset, 2u);
  request.nsp = "/admin";
  EXPECT_EQ(Emit(request)->offset, 1u);
}

TEST_F(EmitterTest, WholeNamespaceAndExcept) {
  EmitRequest request;
  request.event = "all";
  EXPECT_EQ(Emit(request)->recipients, 3u);
  request.except = {"room"};
  EXPECT_EQ(Emit(request)->recipients, 1u);
}

TEST_F(EmitterTest, CountsOnlyRecipientsThatQueued) {
  sockets_[1].accept = false;  // Say, a volatile packet on a busy transport.
  EmitRequest request;
  request.rooms = {"room"};
  request.event = "e";
  request.is_volatile = true;
  EXPECT_EQ(Emit(request)->recipients, 1u);
  EXPECT_TRUE(sockets_[1].received[0]->is_volatile);
}

TEST_F(EmitterTest, BinaryAttachmentsMakeABinaryEvent) {
  EmitRequest request;
  request.nsp = "/admin";
  request.event = "file";
  request.args_json = R"({"_placeholder":true,"num":0})";
  request.attachments = {"\x01\x02"};
  SharedPacket packet = Emitter::Encode(request);
  EXPECT_EQ(packet->text, R"(451-/admin,["file",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(packet->attachments, request.attachments);
}

TEST_F(EmitterTest, RejectsMissingOrReservedEventNames) {
  EmitRequest request;
  EXPECT_EQ(Emit(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.event = "disconnect";
  EXPECT_EQ(Emit(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.event = "fine";
  request.nsp = "admin";
  EXPECT_EQ(Emit(request).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counters_.emits.load(), 0u);
}

}  // namespace
}  // namespace roomcast::core
