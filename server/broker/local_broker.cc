#include "server/broker/local_broker.h"

namespace roomcast::broker {

void LocalBroker::Nodes(NodesDone done) { std::move(done)(std::vector<core::NodeStatus>{self_}); }

}  // namespace roomcast::broker
