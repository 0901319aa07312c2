#pragma once

#include <functional>

#include "server/core/event.h"

namespace roomcast::core {

// Carries events to the other nodes of a cluster. The emitting node delivers
// to its own sockets itself; a broker only reaches the rest, and hands what
// they publish to the handler.
class Broker {
 public:
  using Handler = std::function<void(const Event&)>;

  virtual ~Broker() = default;
  virtual void Publish(const Event& event) = 0;
  // Called from the broker's own thread for every event another node published.
  virtual void SetHandler(Handler handler) = 0;
};

}  // namespace roomcast::core
