#include "server/broker/subscriptions.h"

#include <gtest/gtest.h>

namespace roomcast::broker {
namespace {

using Key = Subscriptions::Key;

class SubscriptionsTest : public ::testing::Test {
 protected:
  SubscriptionsTest() : subscriptions_([this] { ++wakes_; }) { subscriptions_.SetOnline(true); }

  // Records a WhenReceiving answer: "" until it comes, then "ok" or the code.
  std::shared_ptr<std::string> Wait(std::vector<std::string> rooms, std::string nsp = "/") {
    auto answer = std::make_shared<std::string>();
    subscriptions_.WhenReceiving(nsp, rooms, [answer](absl::Status status) {
      *answer = status.ok() ? "ok" : absl::StatusCodeToString(status.code());
    });
    return answer;
  }

  int wakes_ = 0;
  Subscriptions subscriptions_;
};

TEST_F(SubscriptionsTest, SubscribesOnTheFirstShardAndUnsubscribesAfterTheLast) {
  subscriptions_.GainedRoom("/", "r");
  subscriptions_.GainedRoom("/", "r");  // A second shard: no news.
  EXPECT_EQ(wakes_, 1);
  auto changes = subscriptions_.TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, (Key{"/", "r"}));
  EXPECT_TRUE(changes[0].subscribe);
  EXPECT_EQ(subscriptions_.wanted(), 1u);
  subscriptions_.LostRoom("/", "r");
  EXPECT_TRUE(subscriptions_.TakeChanges().empty()) << "one shard still has members";
  subscriptions_.LostRoom("/", "r");
  changes = subscriptions_.TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].subscribe);
  EXPECT_EQ(subscriptions_.wanted(), 0u);
}

TEST_F(SubscriptionsTest, ChurnBetweenFlushesSendsNothing) {
  subscriptions_.GainedRoom("/", "socket-id");
  subscriptions_.LostRoom("/", "socket-id");
  EXPECT_TRUE(subscriptions_.TakeChanges().empty());
}

TEST_F(SubscriptionsTest, AJoinWaitsForTheConfirmation) {
  subscriptions_.GainedRoom("/", "a");
  auto answer = Wait({"a"});
  EXPECT_EQ(*answer, "") << "not subscribed yet";
  subscriptions_.TakeChanges();
  EXPECT_EQ(*answer, "");
  subscriptions_.Confirmed({"/", "a"});
  EXPECT_EQ(*answer, "ok");
  EXPECT_EQ(*Wait({"a"}), "ok") << "confirmed already: at once";
}

TEST_F(SubscriptionsTest, AWaitForSeveralRoomsEndsWithTheLast) {
  subscriptions_.GainedRoom("/", "a");
  subscriptions_.GainedRoom("/", "b");
  auto answer = Wait({"a", "b"});
  subscriptions_.TakeChanges();
  subscriptions_.Confirmed({"/", "b"});
  EXPECT_EQ(*answer, "");
  subscriptions_.Confirmed({"/", "a"});
  EXPECT_EQ(*answer, "ok");
}

TEST_F(SubscriptionsTest, AnUnsubscribeInFlightIsNotReceiving) {
  subscriptions_.GainedRoom("/", "a");
  subscriptions_.TakeChanges();
  subscriptions_.Confirmed({"/", "a"});
  subscriptions_.LostRoom("/", "a");
  subscriptions_.TakeChanges();  // UNSUBSCRIBE sent
  subscriptions_.GainedRoom("/", "a");
  subscriptions_.TakeChanges();  // SUBSCRIBE sent
  auto answer = Wait({"a"});
  subscriptions_.Confirmed({"/", "a"});  // the unsubscribe
  EXPECT_EQ(*answer, "");
  subscriptions_.Confirmed({"/", "a"});  // the subscribe
  EXPECT_EQ(*answer, "ok");
}

TEST_F(SubscriptionsTest, LosingTheConnectionFailsWaitersAndResendsEverything) {
  subscriptions_.GainedNamespace("/");
  subscriptions_.GainedRoom("/", "a");
  subscriptions_.TakeChanges();
  subscriptions_.Confirmed({"/", ""});
  auto answer = Wait({"a"});
  subscriptions_.SetOnline(false);
  EXPECT_EQ(*answer, "UNAVAILABLE");
  EXPECT_EQ(*Wait({"a"}), "UNAVAILABLE") << "offline: no promise can be made";
  EXPECT_TRUE(subscriptions_.TakeChanges().empty()) << "nothing is sent while offline";
  subscriptions_.SetOnline(true);
  auto changes = subscriptions_.TakeChanges();
  EXPECT_EQ(changes.size(), 2u) << "the namespace and the room, again";
}

}  // namespace
}  // namespace roomcast::broker
