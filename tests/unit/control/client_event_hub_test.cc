#include "server/control/client_event_hub.h"

#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "server/broker/local_broker.h"
#include "server/storage/memory_event_store.h"

namespace roomcast::control {
namespace {

using namespace std::chrono_literals;

// A stream's far end that keeps what it is sent.
class RecordingConsumer final : public ClientEventConsumer {
 public:
  bool Push(std::shared_ptr<const v1::ClientEvent> event) override {
    std::lock_guard lock(mutex);
    if (ended) {
      return false;  // As a stream that has ended.
    }
    events.push_back(std::move(event));
    return true;
  }
  void End(const absl::Status& status) override {
    std::lock_guard lock(mutex);
    ended = status;
  }
  std::vector<std::string> Names() {
    std::lock_guard lock(mutex);
    std::vector<std::string> names;
    for (const auto& event : events) {
      names.push_back(event->event());
    }
    return names;
  }

  std::mutex mutex;
  std::vector<std::shared_ptr<const v1::ClientEvent>> events;
  std::optional<absl::Status> ended;
};

core::ClientEvent Event(std::string name,
                        core::ClientEvent::Kind kind = core::ClientEvent::Kind::kEvent) {
  core::ClientEvent event;
  event.kind = kind;
  event.nsp = "/";
  event.name = std::move(name);
  event.args_json = "[1]";
  event.socket_id = "s1";
  return event;
}

ClientEventFilter Filter(std::string group = "", std::vector<std::string> events = {},
                         bool lifecycle = false) {
  ClientEventFilter filter;
  filter.group = std::move(group);
  filter.events.insert(events.begin(), events.end());
  filter.lifecycle = lifecycle;
  return filter;
}

// The ack's outcome, waited for (it may come from the timer thread).
struct AckOutcome {
  std::promise<absl::StatusOr<std::string>> promise;
  std::future<absl::StatusOr<std::string>> future = promise.get_future();
  core::ClientAckDone Done() {
    return [this](absl::StatusOr<std::string> result) { promise.set_value(std::move(result)); };
  }
  absl::StatusOr<std::string> Get() {
    if (future.wait_for(2s) != std::future_status::ready) {
      return absl::InternalError("no outcome within 2 s");
    }
    return future.get();
  }
};

class ClientEventHubTest : public ::testing::Test {
 protected:
  absl::Status Ack(const std::string& id, std::string args = "[\"ok\"]") {
    absl::Status result = absl::InternalError("no answer");
    hub_.Ack(id, std::move(args), [&](absl::Status status) { result = status; });
    return result;
  }

  base::Counters counters_;
  storage::MemoryEventStore log_{10};
  broker::LocalBroker broker_{log_, core::NodeStatus::Named("node-1")};
  ClientEventHub hub_{ClientEventHub::Options{"node-1", 300ms}, broker_, timers_, counters_,
                      nullptr};
  TimerThread timers_;  // Bound above before it is built; stops before the hub goes.
};

TEST_F(ClientEventHubTest, WithNoStreamTheBrowserHearsUnavailableAtOnce) {
  AckOutcome outcome;
  hub_.Offer(Event("chat"), outcome.Done());
  absl::StatusOr<std::string> result = outcome.Get();
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_EQ(counters_.client_events_unavailable.load(), 1u);
}

TEST_F(ClientEventHubTest, OneStreamOfEachGroupGetsEachEvent) {
  auto a1 = std::make_shared<RecordingConsumer>();
  auto a2 = std::make_shared<RecordingConsumer>();
  auto b = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter("a"), a1);
  hub_.Add(Filter("a"), a2);
  hub_.Add(Filter("b"), b);
  for (int i = 0; i < 10; ++i) {
    hub_.Offer(Event(absl::StrCat("e", i)), nullptr);
  }
  EXPECT_EQ(a1->events.size(), 5u);
  EXPECT_EQ(a2->events.size(), 5u);
  EXPECT_EQ(b->events.size(), 10u);
  std::set<std::string> ids;
  for (const auto& consumer : {a1, a2}) {
    for (const auto& event : consumer->events) {
      EXPECT_TRUE(ids.insert(event->id()).second) << "twice: " << event->id();
      EXPECT_EQ(event->node_id(), "node-1");
      EXPECT_EQ(event->kind(), "event");
    }
  }
  EXPECT_EQ(ids.size(), 10u);
}

TEST_F(ClientEventHubTest, LoneStreamsAreGroupsOfTheirOwn) {
  auto first = std::make_shared<RecordingConsumer>();
  auto second = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter(), first);
  hub_.Add(Filter(), second);
  hub_.Offer(Event("chat"), nullptr);
  EXPECT_EQ(first->events.size(), 1u);
  EXPECT_EQ(second->events.size(), 1u);
}

TEST_F(ClientEventHubTest, EventNamesAndPresenceAreFiltered) {
  auto chat = std::make_shared<RecordingConsumer>();
  auto presence = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter("chat", {"chat:send"}), chat);
  EXPECT_FALSE(hub_.WantsPresence("/"));
  const uint64_t handle = hub_.Add(Filter("presence", {"never"}, true), presence);
  EXPECT_TRUE(hub_.WantsPresence("/"));
  hub_.Offer(Event("typing"), nullptr);
  hub_.Offer(Event("chat:send"), nullptr);
  hub_.Offer(Event("connect", core::ClientEvent::Kind::kConnect), nullptr);
  EXPECT_EQ(chat->Names(), std::vector<std::string>{"chat:send"});
  EXPECT_EQ(presence->Names(), std::vector<std::string>{"connect"});
  hub_.Remove(handle);
  EXPECT_FALSE(hub_.WantsPresence("/"));
}

TEST_F(ClientEventHubTest, AnEventAStreamRefusesOrDropsIsUnavailableAtOnce) {
  auto cut = std::make_shared<RecordingConsumer>();
  cut->ended = absl::ResourceExhaustedError("too slow");
  hub_.Add(Filter("a"), cut);
  AckOutcome refused;
  hub_.Offer(Event("chat"), refused.Done());
  EXPECT_TRUE(absl::IsUnavailable(refused.Get().status()));

  // One taken, then dropped when its stream ended: no copy left.
  auto taker = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter("b"), taker);
  AckOutcome dropped;
  hub_.Offer(Event("chat"), dropped.Done());
  ASSERT_EQ(taker->events.size(), 1u);
  hub_.Dropped(*taker->events.front());
  EXPECT_TRUE(absl::IsUnavailable(dropped.Get().status()));
  EXPECT_EQ(counters_.client_events_unavailable.load(), 3u);
}

TEST_F(ClientEventHubTest, TheFirstAckWinsAndUnknownIdsAreNotFound) {
  auto consumer = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter("svc"), consumer);
  AckOutcome outcome;
  hub_.Offer(Event("chat"), outcome.Done());
  ASSERT_EQ(consumer->events.size(), 1u);
  const std::string id = consumer->events[0]->id();
  EXPECT_TRUE(consumer->events[0]->wants_ack());
  EXPECT_TRUE(Ack(id).ok());
  EXPECT_EQ(*outcome.Get(), "[\"ok\"]");
  EXPECT_TRUE(absl::IsFailedPrecondition(Ack(id)));
  EXPECT_TRUE(absl::IsNotFound(Ack("node-1.999")));
  EXPECT_EQ(hub_.stats().pending_acks, 0u);
}

TEST_F(ClientEventHubTest, NoAnswerInTimeIsATimeoutAndTheIdIsForgotten) {
  auto consumer = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter("svc"), consumer);
  AckOutcome outcome;
  hub_.Offer(Event("chat"), outcome.Done());
  EXPECT_EQ(hub_.stats().pending_acks, 1u);
  absl::StatusOr<std::string> result = outcome.Get();
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.status())) << result.status();
  EXPECT_TRUE(absl::IsNotFound(Ack(consumer->events[0]->id())));
  EXPECT_EQ(counters_.client_acks_timed_out.load(), 1u);
}

TEST_F(ClientEventHubTest, DrainEndsStreamsAndAnswersWaitingBrowsers) {
  auto consumer = std::make_shared<RecordingConsumer>();
  hub_.Add(Filter("svc"), consumer);
  AckOutcome waiting;
  hub_.Offer(Event("chat"), waiting.Done());
  hub_.Drain();
  EXPECT_TRUE(absl::IsUnavailable(waiting.Get().status()));
  ASSERT_TRUE(consumer->ended.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*consumer->ended));
  AckOutcome later;
  hub_.Offer(Event("chat"), later.Done());
  EXPECT_TRUE(absl::IsUnavailable(later.Get().status()));
  EXPECT_TRUE(hub_.draining());
}

TEST(ClientEventFilterTest, AcceptsItsNamespaceOnly) {
  ClientEventFilter filter = Filter("g");
  v1::ClientEvent event;
  event.set_namespace_("/admin");
  event.set_kind("event");
  EXPECT_FALSE(filter.Accepts(event));
  event.set_namespace_("/");
  EXPECT_TRUE(filter.Accepts(event));
}

}  // namespace
}  // namespace roomcast::control
