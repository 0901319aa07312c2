#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/core/encoded_packet.h"

namespace roomcast::core {

// Where an event sits in its namespace's log: the offset grows by one per
// event; the epoch names the log itself and changes when the log is reset
// (a new memory log, a flushed Redis stream), so "nothing after offset N"
// and "the log that numbered N is gone" can be told apart.
struct StreamPosition {
  uint64_t offset = 0;
  std::string epoch;
};

// One emit as the log keeps it and as it travels between nodes: the packet,
// encoded once, where it goes, and its position in the log.
struct Event {
  std::string nsp;
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  SharedPacket packet;
  StreamPosition position;
  int64_t time_ms = 0;  // When it was emitted (Unix time).
};

// The packet a socket gets for a logged event when connection state
// recovery is on: `event.packet` with its position as the last argument.
SharedPacket TaggedPacket(const Event& event);

}  // namespace roomcast::core
