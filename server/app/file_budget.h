#pragma once

#include <cstddef>
#include <cstdint>

namespace roomcast::app {

// Raises the soft open-file limit to the hard one, as Go's runtime does at
// start: the soft default (often 1024) is meant for shells, not for a
// server of many connections. Returns the soft limit in force afterwards.
uint64_t RaiseOpenFileLimit();

// What an open-file limit allows. A reserve of max(1000, 5 %) (at most half)
// is kept for everything that is not a browser (Redis, PostgreSQL, gRPC
// calls, files); the rest is for sessions, a third of it with TLS, where each
// connection holds three descriptors (the client's and a socket pair to the
// HTTP side). Connections not yet sessions share the sessions' part, plus half
// the reserve: after a restart they may all arrive at once.
struct FileBudget {
  size_t connections = 0;  // Sessions at most.
  size_t all = 0;          // Sessions and connections not yet sessions together.

  static FileBudget For(uint64_t open_files, bool tls);
};

}  // namespace roomcast::app
