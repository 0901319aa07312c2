#include "server/control/api.h"

#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/broker/local_broker.h"
#include "server/storage/memory_event_store.h"
#include "tests/unit/core/fake_member.h"
#include "tests/unit/core/queued_shards.h"

namespace roomcast::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A health check that answers what it is told.
class FixedCheck final : public observe::HealthCheck {
 public:
  FixedCheck(std::string name, observe::Serving status) : name_(name), status_(status) {}
  observe::CheckResult Run() override {
    observe::CheckResult result;
    result.name = name_;
    result.status = status_;
    result.detail = "fixed";
    return result;
  }

 private:
  std::string name_;
  observe::Serving status_;
};

std::vector<std::unique_ptr<observe::HealthCheck>> Checks() {
  std::vector<std::unique_ptr<observe::HealthCheck>> checks;
  checks.push_back(std::make_unique<FixedCheck>("uptime", observe::Serving::kServing));
  checks.push_back(std::make_unique<FixedCheck>("memory", observe::Serving::kDegraded));
  return checks;
}

// ControlApi driven directly: two shards whose work runs when the test
// says, the embedded log and broker, no sockets and no network.
class ControlApiTest : public ::testing::Test {
 protected:
  ControlApiTest()
      : shards_(2),
        emitter_(shards_, broker_, counters_),
        metrics_(counters_),
        health_(Checks(), std::chrono::hours(1), [](const observe::HealthReport&) {}),
        idempotency_(std::chrono::minutes(5)),
        client_events_(ClientEventHub::Options{"node-1", std::chrono::milliseconds(200)}, broker_,
                       timers_, counters_, nullptr),
        api_(ControlApi::Parts{emitter_,
                               broker_,
                               shards_,
                               counters_,
                               metrics_,
                               health_,
                               idempotency_,
                               store_,
                               client_events_,
                               timers_,
                               /*client_event_stream_buffer_bytes=*/1 << 20,
                               /*max_emit_bytes=*/64,
                               /*max_batch_size=*/3,
                               {"/", "/admin"}},
             NodeInfo{"node-1", "1.2.3"}) {}

  // Calls `method` and runs the shards until it answers.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(void (ControlApi::*method)(const Request&, Caller, Reply<Response>),
                                const Request& request) {
    absl::StatusOr<Response> result = absl::UnknownError("no reply");
    (api_.*method)(request, Caller::kGrpc,
                   [&](absl::StatusOr<Response> reply) { result = std::move(reply); });
    shards_.RunAll();
    return result;
  }

  core::FakeMember& Socket(size_t shard, std::string id, std::vector<std::string> rooms = {}) {
    sockets_.push_back(std::make_unique<core::FakeMember>(std::move(id), shards_.rooms(shard)));
    for (const std::string& room : rooms) {
      sockets_.back()->JoinRoom(room);
    }
    return *sockets_.back();
  }

  static v1::EmitRequest EmitTo(std::string room, std::string event = "order.created") {
    v1::EmitRequest request;
    request.set_room(std::move(room));
    request.set_event(std::move(event));
    request.set_data_json(R"({"id":7})");
    return request;
  }

  base::Counters counters_;
  core::QueuedShards shards_;
  storage::MemoryEventStore store_{100};
  broker::LocalBroker broker_{store_, core::NodeStatus::Named("node-1")};
  core::Emitter emitter_;
  observe::Metrics metrics_;
  observe::HealthChecker health_;
  IdempotencyCache idempotency_;
  ClientEventHub client_events_;
  ControlApi api_;
  std::vector<std::unique_ptr<core::FakeMember>> sockets_;
  // Last, so it stops first: its tasks use the API and the hub.
  TimerThread timers_;
};

TEST_F(ControlApiTest, EmitReachesTheRoomOnEveryShardAndCountsTheCaller) {
  core::FakeMember& a = Socket(0, "a", {"orders"});
  core::FakeMember& b = Socket(1, "b", {"orders"});
  core::FakeMember& outsider = Socket(1, "c");
  absl::StatusOr<v1::EmitResponse> response = Call(&ControlApi::Emit, EmitTo("orders"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->recipients(), 2u);
  EXPECT_EQ(response->offset(), 1u);
  ASSERT_EQ(a.received.size(), 1u);
  EXPECT_EQ(a.received[0]->text, R"(42["order.created",{"id":7}])");
  EXPECT_EQ(b.received.size(), 1u);
  EXPECT_TRUE(outsider.received.empty());
  EXPECT_EQ(counters_.emits_via_grpc.load(), 1u);
  EXPECT_EQ(counters_.emits_via_http.load(), 0u);
}

TEST_F(ControlApiTest, AnUnconfiguredNamespaceIsRefusedByEveryMethodThatNamesOne) {
  v1::EmitRequest emit = EmitTo("orders");
  emit.set_namespace_("/nope");
  v1::ChangeRoomsRequest change;
  change.mutable_sockets()->set_namespace_("/nope");
  change.mutable_sockets()->set_room("orders");
  change.add_rooms("more");
  v1::DisconnectSocketsRequest disconnect;
  *disconnect.mutable_sockets() = change.sockets();
  v1::ListRoomSocketsRequest list;
  list.set_namespace_("/nope");
  list.set_room("orders");
  std::vector<absl::Status> statuses = {
      Call(&ControlApi::Emit, emit).status(),
      Call(&ControlApi::JoinRooms, change).status(),
      Call(&ControlApi::LeaveRooms, change).status(),
      Call(&ControlApi::DisconnectSockets, disconnect).status(),
      Call(&ControlApi::ListRoomSockets, list).status(),
  };
  for (const absl::Status& status : statuses) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(R"(namespace "/nope" is not configured)"));
    EXPECT_THAT(status.message(), HasSubstr("configured: /, /admin"));
  }
}

TEST_F(ControlApiTest, DataOverTheLimitIsRefusedCountedAndNotDelivered) {
  core::FakeMember& a = Socket(0, "a", {"orders"});
  v1::EmitRequest request = EmitTo("orders");
  request.set_data_json("\"" + std::string(70, 'x') + "\"");
  absl::StatusOr<v1::EmitResponse> response = Call(&ControlApi::Emit, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("more than the limit of 64"));
  EXPECT_EQ(counters_.emits_refused.load(), 1u);
  EXPECT_TRUE(a.received.empty());
}

TEST_F(ControlApiTest, BadPayloadsAndRoomsAreInvalidArguments) {
  v1::EmitRequest not_json = EmitTo("orders");
  not_json.set_data_json("{oops");
  EXPECT_THAT(Call(&ControlApi::Emit, not_json).status().message(),
              HasSubstr("dataJson is not JSON"));
  v1::EmitRequest empty_room = EmitTo("orders");
  empty_room.add_except_rooms("");
  EXPECT_THAT(Call(&ControlApi::Emit, empty_room).status().message(),
              HasSubstr("exceptRooms: '': room name must not be empty"));
  v1::EmitRequest reserved = EmitTo("orders", "connect");
  EXPECT_EQ(Call(&ControlApi::Emit, reserved).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ControlApiTest, ARetryWithTheSameIdempotencyKeyGetsTheFirstResultAndIsNotDelivered) {
  core::FakeMember& a = Socket(0, "a", {"orders"});
  v1::EmitRequest request = EmitTo("orders");
  request.set_idempotency_key("order-7");
  absl::StatusOr<v1::EmitResponse> first = Call(&ControlApi::Emit, request);
  absl::StatusOr<v1::EmitResponse> retry = Call(&ControlApi::Emit, request);
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_FALSE(first->duplicate());
  EXPECT_TRUE(retry->duplicate());
  EXPECT_EQ(retry->offset(), first->offset());
  EXPECT_EQ(retry->recipients(), 1u);
  EXPECT_EQ(a.received.size(), 1u);
}

TEST_F(ControlApiTest, ABatchOverTheLimitIsRefusedWhole) {
  v1::EmitBatchRequest batch;
  for (int i = 0; i < 4; ++i) *batch.add_emits() = EmitTo("orders");
  absl::StatusOr<v1::EmitBatchResponse> response = Call(&ControlApi::EmitBatch, batch);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("at most 3 emits, not 4"));
  EXPECT_EQ(counters_.emits_refused.load(), 1u);
}

TEST_F(ControlApiTest, ABadBatchItemFailsAloneAndTheRestGoInOrder) {
  core::FakeMember& a = Socket(1, "a", {"orders"});
  v1::EmitBatchRequest batch;
  *batch.add_emits() = EmitTo("orders", "first");
  *batch.add_emits() = EmitTo("orders", "connect");  // Reserved.
  *batch.add_emits() = EmitTo("orders", "second");
  absl::StatusOr<v1::EmitBatchResponse> response = Call(&ControlApi::EmitBatch, batch);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_EQ(response->results(0).emitted().offset(), 1u);
  EXPECT_EQ(response->results(1).error().code(), "INVALID_ARGUMENT");
  EXPECT_EQ(response->results(2).emitted().offset(), 2u);
  ASSERT_EQ(a.received.size(), 2u);
  EXPECT_THAT(a.received[0]->text, HasSubstr("first"));
  EXPECT_THAT(a.received[1]->text, HasSubstr("second"));
}

TEST_F(ControlApiTest, StatusMergesRoomsAcrossShardsAndLeavesOutOwnIdRooms) {
  Socket(0, "a", {"big"});
  Socket(1, "b", {"big"});
  Socket(1, "c", {"big", "solo"});
  Socket(0, "d");
  ASSERT_TRUE(Call(&ControlApi::Emit, EmitTo("big")).ok());
  absl::StatusOr<v1::StatusResponse> status = Call(&ControlApi::Status, v1::StatusRequest());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->connections(), 4u);
  EXPECT_EQ(status->rooms(), 2u) << "big and solo; a, b, c and d's own rooms are not counted";
  ASSERT_EQ(status->namespaces_size(), 1);
  EXPECT_EQ(status->namespaces(0).name(), "/");
  EXPECT_EQ(status->namespaces(0).sockets(), 4u);
  EXPECT_EQ(status->namespaces(0).rooms(), 2u);
  ASSERT_EQ(status->top_rooms_size(), 2);
  EXPECT_EQ(status->top_rooms(0).room(), "big");
  EXPECT_EQ(status->top_rooms(0).members(), 3u);
  EXPECT_EQ(status->top_rooms(1).room(), "solo");
  EXPECT_EQ(status->node_id(), "node-1");
  EXPECT_EQ(status->version(), "1.2.3");
  EXPECT_EQ(status->counters().emits_by_transport().at("grpc"), 1u);
  EXPECT_EQ(status->counters().deliveries(), 3u);
  EXPECT_EQ(status->emit_latency().count(), 1u);

  v1::StatusRequest top_one;
  top_one.set_top_rooms(1);
  EXPECT_EQ(Call(&ControlApi::Status, top_one)->top_rooms_size(), 1);
}

TEST_F(ControlApiTest, JoinAndLeaveByUserReachEverySocketOfTheUser) {
  core::FakeMember& phone = Socket(0, "phone", {"user:u1"});
  core::FakeMember& laptop = Socket(1, "laptop", {"user:u1"});
  core::FakeMember& other = Socket(1, "other", {"user:u2"});
  v1::ChangeRoomsRequest request;
  request.mutable_sockets()->set_user_id("u1");
  request.add_rooms("team");
  absl::StatusOr<v1::ChangeRoomsResponse> joined = Call(&ControlApi::JoinRooms, request);
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(joined->sockets(), 2u);
  EXPECT_THAT(phone.RoomNames(), ElementsAre("phone", "team", "user:u1"));
  EXPECT_THAT(laptop.RoomNames(), ElementsAre("laptop", "team", "user:u1"));
  EXPECT_THAT(other.RoomNames(), ElementsAre("other", "user:u2"));
  EXPECT_EQ(Call(&ControlApi::LeaveRooms, request)->sockets(), 2u);
  EXPECT_THAT(phone.RoomNames(), ElementsAre("phone", "user:u1"));
}

TEST_F(ControlApiTest, ChangingRoomsNeedsATargetAndARoom) {
  v1::ChangeRoomsRequest no_target;
  no_target.add_rooms("team");
  EXPECT_THAT(Call(&ControlApi::JoinRooms, no_target).status().message(),
              HasSubstr("one of socketId, room or userId is required"));
  v1::ChangeRoomsRequest no_room;
  no_room.mutable_sockets()->set_socket_id("a");
  EXPECT_THAT(Call(&ControlApi::JoinRooms, no_room).status().message(),
              HasSubstr("rooms: at least one room"));
}

TEST_F(ControlApiTest, DisconnectSocketsTellsEachSelectedSocketOnce) {
  core::FakeMember& a = Socket(0, "a", {"room"});
  core::FakeMember& b = Socket(1, "b", {"room"});
  core::FakeMember& c = Socket(1, "c");
  v1::DisconnectSocketsRequest request;
  request.mutable_sockets()->set_room("room");
  request.set_close_connection(true);
  absl::StatusOr<v1::DisconnectSocketsResponse> response =
      Call(&ControlApi::DisconnectSockets, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->sockets(), 2u);
  EXPECT_THAT(a.disconnects, ElementsAre(true));
  EXPECT_THAT(b.disconnects, ElementsAre(true));
  EXPECT_TRUE(c.disconnects.empty());
}

TEST_F(ControlApiTest, ListRoomSocketsIsSortedAndLeavesOutOwnIdRooms) {
  Socket(1, "b", {"room", "x"});
  Socket(0, "a", {"room"});
  Socket(0, "z");
  v1::ListRoomSocketsRequest request;
  request.set_room("room");
  absl::StatusOr<v1::ListRoomSocketsResponse> response =
      Call(&ControlApi::ListRoomSockets, request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->sockets_size(), 2);
  EXPECT_EQ(response->sockets(0).id(), "a");
  EXPECT_THAT(response->sockets(0).rooms(), ElementsAre("room"));
  EXPECT_EQ(response->sockets(1).id(), "b");
  EXPECT_THAT(response->sockets(1).rooms(), ElementsAre("room", "x"));
  request.set_room("");
  EXPECT_THAT(Call(&ControlApi::ListRoomSockets, request).status().message(),
              HasSubstr("room: room name must not be empty"));
}

TEST_F(ControlApiTest, SendTestEventEmitsToTheTestRoom) {
  core::FakeMember& a = Socket(0, "a", {"qa"});
  v1::SendTestEventRequest request;
  EXPECT_THAT(Call(&ControlApi::SendTestEvent, request).status().message(),
              HasSubstr("testRoom is required"));
  request.set_test_room("qa");
  absl::StatusOr<v1::SendTestEventResponse> response = Call(&ControlApi::SendTestEvent, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(response->success());
  EXPECT_EQ(response->recipients(), 1u);
  EXPECT_EQ(response->event(), "test-event");
  ASSERT_EQ(a.received.size(), 1u);
  EXPECT_EQ(a.received[0]->text, R"(42["test-event"])");
}

TEST_F(ControlApiTest, HealthIsTheWorstCheckWithEveryCheckListed) {
  absl::Notification done;
  absl::StatusOr<v1::HealthResponse> health = absl::UnknownError("no reply");
  // Health answers from the checker's own thread.
  api_.Health(v1::HealthRequest(), Caller::kHttp, [&](absl::StatusOr<v1::HealthResponse> reply) {
    health = std::move(reply);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status(), v1::DEGRADED);
  ASSERT_EQ(health->checks_size(), 2);
  EXPECT_EQ(health->checks(0).name(), "uptime");
  EXPECT_EQ(health->checks(0).status(), v1::SERVING);
  EXPECT_EQ(health->checks(1).name(), "memory");
  EXPECT_EQ(health->checks(1).status(), v1::DEGRADED);
  EXPECT_EQ(health->checks(1).detail(), "fixed");
}

TEST_F(ControlApiTest, HistoryReadsEventsBackAsTheyWereEmitted) {
  v1::EmitRequest first = EmitTo("orders");
  first.add_except_rooms("muted");
  ASSERT_TRUE(Call(&ControlApi::Emit, first).ok());
  v1::EmitRequest second = EmitTo("", "tick");
  second.clear_data_json();
  ASSERT_TRUE(Call(&ControlApi::Emit, second).ok());

  v1::HistoryRequest request;
  absl::StatusOr<v1::HistoryResponse> history = Call(&ControlApi::History, request);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->events_size(), 2);
  const v1::HistoryEvent& created = history->events(0);
  EXPECT_EQ(created.offset(), 1u);
  EXPECT_EQ(created.epoch(), store_.epoch());
  EXPECT_EQ(created.event(), "order.created");
  EXPECT_EQ(created.data().struct_value().fields().at("id").number_value(), 7);
  EXPECT_EQ(created.args().values_size(), 1);
  EXPECT_EQ(std::vector<std::string>(created.rooms().begin(), created.rooms().end()),
            std::vector<std::string>{"orders"});
  EXPECT_EQ(created.except_rooms(0), "muted");
  EXPECT_GT(created.time().seconds(), 1700000000);
  EXPECT_EQ(history->events(1).event(), "tick");
  EXPECT_EQ(history->events(1).args().values_size(), 0);
  EXPECT_EQ(history->events(1).data().kind_case(), google::protobuf::Value::kNullValue);

  request.set_room("orders");
  request.set_reverse(true);
  history = Call(&ControlApi::History, request);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->events_size(), 2);  // The namespace-wide one targets every room.
  EXPECT_EQ(history->events(0).offset(), 2u);
  request.set_room("elsewhere");
  request.set_after_offset(1);
  history = Call(&ControlApi::History, request);
  ASSERT_EQ(history->events_size(), 1);
  EXPECT_EQ(history->events(0).event(), "tick");
}

TEST_F(ControlApiTest, HistoryRefusesBadQueries) {
  v1::HistoryRequest request;
  request.set_limit(1001);
  absl::StatusOr<v1::HistoryResponse> history = Call(&ControlApi::History, request);
  EXPECT_EQ(history.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(history.status().message()), ::testing::HasSubstr("limit"));
  request.set_limit(1000);
  request.set_namespace_("/nowhere");
  history = Call(&ControlApi::History, request);
  EXPECT_EQ(history.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(history.status().message()), ::testing::HasSubstr("/nowhere"));
}

}  // namespace
}  // namespace roomcast::control

namespace roomcast::control {
namespace {

TEST_F(ControlApiTest, EmitWithAckGathersTheAnswersAndNamesTheSilentSockets) {
  core::FakeMember& talker = Socket(0, "a", {"quiz"});
  core::FakeMember& silent = Socket(1, "b", {"quiz"});
  v1::EmitWithAckRequest request;
  request.set_room("quiz");
  request.set_event("question");
  request.set_data_json(R"({"q":1})");
  request.set_timeout_ms(100);
  std::promise<absl::StatusOr<v1::EmitWithAckResponse>> answered;
  api_.EmitWithAck(request, Caller::kGrpc, [&](absl::StatusOr<v1::EmitWithAckResponse> result) {
    answered.set_value(std::move(result));
  });
  shards_.RunAll();
  ASSERT_EQ(talker.asked.size(), 1u);
  EXPECT_EQ(talker.asked[0], (std::pair<std::string, std::string>{"question", R"({"q":1})"}));
  ASSERT_EQ(silent.asked.size(), 1u);
  std::move(talker.answers[0])(R"(["yes",2])", {});
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  absl::StatusOr<v1::EmitWithAckResponse> response = future.get();
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->replies_size(), 1);
  EXPECT_EQ(response->replies(0).socket_id(), "a");
  EXPECT_EQ(response->replies(0).args().values(0).string_value(), "yes");
  ASSERT_EQ(response->timed_out_size(), 1);
  EXPECT_EQ(response->timed_out(0), "b");
  // The silent socket stops waiting too.
  for (int i = 0; i < 100 && silent.forgotten.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    shards_.RunAll();
  }
  EXPECT_EQ(silent.forgotten, std::vector<uint64_t>{0});
}

TEST_F(ControlApiTest, EmitWithAckToNobodyAnswersAtOnce) {
  v1::EmitWithAckRequest request;
  request.set_socket_id("nobody");
  request.set_event("question");
  absl::StatusOr<v1::EmitWithAckResponse> response = Call(&ControlApi::EmitWithAck, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->replies_size() + response->timed_out_size(), 0);
}

TEST_F(ControlApiTest, EmitWithAckChecksItsRequest) {
  v1::EmitWithAckRequest no_target;
  no_target.set_event("question");
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&ControlApi::EmitWithAck, no_target).status()));
  v1::EmitWithAckRequest too_long = no_target;
  too_long.set_room("r");
  too_long.set_timeout_ms(300001);
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&ControlApi::EmitWithAck, too_long).status()));
  v1::EmitWithAckRequest no_event;
  no_event.set_room("r");
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&ControlApi::EmitWithAck, no_event).status()));
}

TEST_F(ControlApiTest, AckClientEventChecksItsRequest) {
  v1::AckClientEventRequest request;
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&ControlApi::AckClientEvent, request).status()));
  request.set_id("node-1.1");
  request.set_args_json(R"({"not":"an array"})");
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&ControlApi::AckClientEvent, request).status()));
  request.set_args_json(absl::StrCat("[\"", std::string(100, 'x'), "\"]"));  // Over 64 bytes.
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&ControlApi::AckClientEvent, request).status()));
  request.set_args_json("[1]");
  EXPECT_TRUE(absl::IsNotFound(Call(&ControlApi::AckClientEvent, request).status()));
}

}  // namespace
}  // namespace roomcast::control
