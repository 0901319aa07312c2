#pragma once

#include <netinet/in.h>

#include <string>

namespace roomcast::bench {

// One server to talk to: where to connect and the Host header to send it.
// With several (a cluster), client i connects to target i % n and HTTP
// emitter connection j posts to target j % n.
struct Target {
  sockaddr_in address{};
  std::string host_header;  // "127.0.0.1:3001"
};

}  // namespace roomcast::bench
