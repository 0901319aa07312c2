// What other nodes send a node's client event hub over the broker: stream
// announcements (JSON), forwarded events (a group and a serialized
// ClientEvent), acks and events a stream dropped. The first byte picks the method; the hub must
// answer every request once and keep its books, whatever the body.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/broker/local_broker.h"
#include "server/control/client_event_hub.h"
#include "server/storage/memory_event_store.h"

namespace {

using namespace roomcast;

class NullConsumer final : public control::ClientEventConsumer {
 public:
  bool Push(std::shared_ptr<const v1::ClientEvent>) override { return true; }
  void End(const absl::Status&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static base::Counters counters;
  static storage::MemoryEventStore log(10);
  static broker::LocalBroker broker(log, core::NodeStatus::Named("node-a"));
  static control::TimerThread timers;
  static control::ClientEventHub hub(
      control::ClientEventHub::Options{"node-a", std::chrono::milliseconds(1)}, broker, timers,
      counters, nullptr);
  static const uint64_t stream = [] {
    control::ClientEventFilter filter;
    filter.group = "g";
    filter.lifecycle = true;
    return hub.Add(filter, std::make_shared<NullConsumer>());
  }();
  (void)stream;
  static constexpr const char* kMethods[] = {"ClientEvents.Announce", "ClientEvents.Deliver",
                                             "ClientEvents.Ack", "ClientEvents.Undelivered"};
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  int answers = 0;
  hub.AnswerNode(kMethods[data[0] % 4], std::move(body), [&](std::string) { ++answers; });
  if (answers != 1) {
    __builtin_trap();  // Every request is answered exactly once, at once.
  }
  return 0;
}
