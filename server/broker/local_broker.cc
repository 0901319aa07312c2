#include "server/broker/local_broker.h"

namespace roomcast::broker {

// Idempotency keys are the control plane's cache's alone here: one node
// sees every repeat.
void LocalBroker::Publish(const core::Event& event, std::string_view, PublishDone done) {
  absl::StatusOr<core::StreamPosition> position = log_.Append(event, event.packet->is_volatile);
  if (!position.ok()) {
    std::move(done)(position.status());
    return;
  }
  std::move(done)(core::Published{*std::move(position), false});
}

void LocalBroker::Nodes(NodesDone done) { std::move(done)(std::vector<core::NodeStatus>{self_}); }

}  // namespace roomcast::broker
