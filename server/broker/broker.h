#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/core/encoded_packet.h"

namespace roomcast::broker {

// One emit as it travels between nodes: the packet, encoded once, and where it goes.
struct Envelope {
  std::string nsp;
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  core::SharedPacket packet;
  uint64_t offset = 0;
};

// Carries emits to the other nodes of a cluster. The emitting node delivers
// to its own sockets itself; a broker only reaches the rest, and hands what
// they publish to the handler.
class Broker {
 public:
  using Handler = std::function<void(const Envelope&)>;

  virtual ~Broker() = default;
  virtual void Publish(const Envelope& envelope) = 0;
  // Called from the broker's own thread for every envelope another node published.
  virtual void SetHandler(Handler handler) = 0;
};

// The embedded default: a single node, so there is nobody else to tell.
class LocalBroker final : public Broker {
 public:
  void Publish(const Envelope&) override {}
  void SetHandler(Handler) override {}
};

}  // namespace roomcast::broker
