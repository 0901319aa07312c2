#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "server/auth/api_key.h"
#include "server/base/counters.h"
#include "server/control/timer_thread.h"

namespace roomcast::control {

// Re-reads the API keys file every `interval` and, when its contents
// changed, replaces the keys with INTERNAL_API_KEY's plus the file's. Polled,
// not watched: Kubernetes swaps a `..data` symlink, which a watch on the file
// misses. A bad new file keeps the old keys, logged once and counted.
class ApiKeysReloader {
 public:
  struct Options {
    std::string path;
    std::chrono::seconds interval{5};
    std::vector<auth::NamedKey> fixed;  // INTERNAL_API_KEY's, always kept.
  };
  ApiKeysReloader(Options options, auth::ApiKeys& keys, TimerThread& timers,
                  base::Counters& counters);

  // Remembers the file as the keys were loaded from it, then polls on
  // `timers` until they stop.
  void Start();
  // Checks the file once, now (the timer's task; tests call it directly).
  void Poll();

 private:
  void Schedule();

  const Options options_;
  auth::ApiKeys& keys_;
  TimerThread& timers_;
  base::Counters& counters_;
  std::string contents_;    // What the keys came from.
  std::string last_error_;  // Logged once until the file changes again.
};

}  // namespace roomcast::control
