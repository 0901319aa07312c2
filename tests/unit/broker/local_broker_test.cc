#include "server/broker/local_broker.h"

#include <gtest/gtest.h>

namespace roomcast::broker {
namespace {

TEST(LocalBrokerTest, ASingleNodeNeverHearsItsOwnEventsBack) {
  LocalBroker broker;
  int heard = 0;
  broker.SetHandler([&](const core::Event&) { ++heard; });
  core::Event event;
  event.nsp = "/";
  event.rooms = {"room"};
  for (int i = 0; i < 3; ++i) {
    broker.Publish(event);
  }
  // The emitting node delivers to its own sockets itself: an echo would
  // deliver every event twice.
  EXPECT_EQ(heard, 0);
}

TEST(LocalBrokerTest, PublishingWithoutAHandlerIsFine) {
  LocalBroker broker;
  broker.Publish(core::Event());
  SUCCEED();
}

}  // namespace
}  // namespace roomcast::broker
