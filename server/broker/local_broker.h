#pragma once

#include "server/core/broker.h"

namespace roomcast::broker {

// The embedded default: a single node, so there is nobody else to tell.
class LocalBroker final : public core::Broker {
 public:
  void Publish(const core::Event&) override {}
  void SetHandler(Handler) override {}
};

}  // namespace roomcast::broker
