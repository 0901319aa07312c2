#include "server/core/emitter.h"

#include <gtest/gtest.h>

#include <map>

#include "server/storage/memory_event_store.h"
#include "tests/unit/core/fake_member.h"
#include "tests/unit/core/queued_shards.h"
#include "tests/unit/core/read_log.h"

namespace roomcast::core {
namespace {

// Numbers events in a memory log (as the single-node broker does),
// remembers what was published, and can be down or have seen a key.
struct RecordingBroker : core::Broker {
  explicit RecordingBroker(EventStore& log) : log(log) {}
  void Publish(const core::Event& event, std::string_view key, PublishDone done) override {
    if (down) {
      std::move(done)(absl::UnavailableError("Redis is unreachable"));
      return;
    }
    if (!key.empty() && seen.contains(std::string(key))) {
      std::move(done)(Published{seen[std::string(key)], true});
      return;
    }
    log.Append(event, key, [&](absl::StatusOr<Published> logged) {
      published.push_back(event);
      if (!key.empty()) {
        seen[std::string(key)] = logged->position;
      }
      std::move(done)(*std::move(logged));
    });
  }
  void SetHandlers(Handlers) override {}
  void AskOthers(std::string, AnswersDone done) override {
    std::move(done)(std::vector<std::string>{});
  }
  void AskOthersWithin(std::string, std::chrono::milliseconds, AnswersDone done) override {
    std::move(done)(std::vector<std::string>{});
  }
  void AskNode(std::string, std::string, std::chrono::milliseconds, AnswersDone done) override {
    std::move(done)(std::vector<std::string>{});
  }
  void Nodes(NodesDone done) override { std::move(done)(std::vector<NodeStatus>{}); }

  EventStore& log;
  bool down = false;
  std::map<std::string, StreamPosition> seen;
  std::vector<core::Event> published;
};

class EmitterTest : public ::testing::Test {
 protected:
  EmitterTest() : shards_(2), emitter_(shards_, broker_, counters_) {
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

  base::Counters counters_;
  QueuedShards shards_;
  storage::MemoryEventStore store_{100};
  RecordingBroker broker_{store_};
  Emitter emitter_;
  FakeMember sockets_[2];
  FakeMember outsider_;
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

TEST_F(EmitterTest, EmitAllGoesInOrderWithOneTaskPerShard) {
  std::vector<EmitRequest> requests(3);
  requests[0].rooms = {"room"};
  requests[0].event = "first";
  requests[1].event = "connect";  // reserved: refused, the others still go
  requests[2].event = "second";   // the whole namespace
  std::vector<absl::StatusOr<EmitResult>> results;
  emitter_.EmitAll(std::move(requests),
                   [&](std::vector<absl::StatusOr<EmitResult>> r) { results = std::move(r); });
  EXPECT_TRUE(results.empty()) << "done only once every shard ran";
  shards_.RunAll();
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->recipients, 2u);
  EXPECT_EQ(results[0]->offset, 1u);
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(results[2].ok());
  EXPECT_EQ(results[2]->recipients, 3u);
  EXPECT_EQ(results[2]->offset, 2u);
  ASSERT_EQ(sockets_[1].received.size(), 2u);
  EXPECT_EQ(sockets_[1].received[0]->text, R"(42["first"])");
  EXPECT_EQ(sockets_[1].received[1]->text, R"(42["second"])");
  EXPECT_EQ(outsider_.received.size(), 1u);
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
  request.event = "slow.update";
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

TEST_F(EmitterTest, LogsNonVolatileEventsAndPublishesEveryEmit) {
  EmitRequest request;
  request.rooms = {"room"};
  request.event = "kept";
  ASSERT_TRUE(Emit(request).ok());
  request.event = "fleeting";
  request.is_volatile = true;
  ASSERT_TRUE(Emit(request).ok());
  ASSERT_EQ(broker_.published.size(), 2u);
  EXPECT_EQ(broker_.published[0].rooms, std::vector<std::string>{"room"});
  std::vector<core::Event> logged = ReadLog(store_, "/", 0, 10);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].position.offset, 1u);
  EXPECT_EQ(logged[0].packet->text, R"(42["kept"])");
}

TEST_F(EmitterTest, DeliversWhatOtherNodesPublish) {
  core::Event remote;
  remote.nsp = "/";
  remote.rooms = {"room"};
  remote.packet = MakePacket(R"(42["from-afar"])");
  emitter_.DeliverPublished(std::make_shared<const Event>(remote));
  shards_.RunAll();
  ASSERT_EQ(sockets_[0].received.size(), 1u);
  EXPECT_EQ(sockets_[0].received[0]->text, R"(42["from-afar"])");
  EXPECT_TRUE(broker_.published.empty()) << "not echoed back to the cluster";
}

TEST_F(EmitterTest, OffsetsComeFromTheLog) {
  EmitRequest request;
  request.rooms = {"room"};
  request.event = "numbered";
  absl::StatusOr<EmitResult> first = Emit(request);
  absl::StatusOr<EmitResult> second = Emit(request);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->offset, 1u);
  EXPECT_EQ(second->offset, 2u);
  EXPECT_EQ(Offsets(ReadLog(store_, "/", 0, 10)), (std::vector<uint64_t>{1, 2}));
}

TEST_F(EmitterTest, NothingIsDeliveredWhenTheBrokerRefuses) {
  broker_.down = true;  // As while Redis is unreachable.
  EmitRequest request;
  request.rooms = {"room"};
  request.event = "lost";
  EXPECT_EQ(Emit(request).status().code(), absl::StatusCode::kUnavailable);
  std::vector<absl::StatusOr<EmitResult>> results;
  emitter_.EmitAll({request, request},
                   [&](std::vector<absl::StatusOr<EmitResult>> r) { results = std::move(r); });
  shards_.RunAll();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(sockets_[0].received.empty());
  EXPECT_TRUE(broker_.published.empty());
  EXPECT_EQ(counters_.emits.load(), 0u);
}

TEST_F(EmitterTest, ARepeatedKeyDeliversNothingAndAnswersTheFirstPosition) {
  EmitRequest request;
  request.rooms = {"room"};
  request.event = "once";
  request.idempotency_key = "k1";
  absl::StatusOr<EmitResult> first = Emit(request);
  absl::StatusOr<EmitResult> repeat = Emit(request);
  ASSERT_TRUE(first.ok() && repeat.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->offset, first->offset);
  EXPECT_EQ(repeat->epoch, first->epoch);
  EXPECT_EQ(repeat->recipients, 0u);
  EXPECT_EQ(sockets_[0].received.size(), 1u);
}

}  // namespace
}  // namespace roomcast::core
