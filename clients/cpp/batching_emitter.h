#pragma once

#include <chrono>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "clients/cpp/client.h"

namespace roomcast {

// Coalesces emits into EmitBatch calls: a batch goes out when it has
// `max_batch` events or its oldest waited `max_delay`. One sender keeps the
// order of Emit() calls. The queue is bounded: a full queue is an error,
// never unbounded growth. Destruction flushes what is queued.
class BatchingEmitter {
 public:
  struct Options {
    size_t max_batch = 100;
    std::chrono::milliseconds max_delay{10};
    size_t max_queue = 10000;
  };

  BatchingEmitter(Client& client, Options options);
  ~BatchingEmitter();
  BatchingEmitter(const BatchingEmitter&) = delete;
  BatchingEmitter& operator=(const BatchingEmitter&) = delete;

  // RESOURCE_EXHAUSTED when `max_queue` events are already waiting.
  absl::Status Emit(v1::EmitRequest request);
  // Returns once everything queued before the call has been sent (or failed).
  void Flush();
  // Events whose batch the server did not accept, or that it refused one by one.
  uint64_t failed() const;

 private:
  void Run();

  Client& client_;
  Options options_;
  mutable absl::Mutex mutex_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, v1::EmitRequest>> queue_
      ABSL_GUARDED_BY(mutex_);
  uint64_t queued_total_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t done_total_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t failed_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread sender_;
};

}  // namespace roomcast
