#include "clients/cpp/batching_emitter.h"

#include "clients/cpp/log.h"

namespace roomcast {

BatchingEmitter::BatchingEmitter(Client& client, Options options)
    : client_(client), options_(options), sender_([this] { Run(); }) {}

BatchingEmitter::~BatchingEmitter() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  sender_.join();  // The sender drains the queue before it stops.
}

absl::Status BatchingEmitter::Emit(v1::EmitRequest request) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) {
    return absl::FailedPreconditionError("the batching emitter is shutting down");
  }
  if (queue_.size() >= options_.max_queue) {
    return absl::ResourceExhaustedError("emit queue is full");
  }
  queue_.emplace_back(std::chrono::steady_clock::now(), std::move(request));
  ++queued_total_;
  return absl::OkStatus();
}

void BatchingEmitter::Flush() {
  absl::MutexLock lock(&mutex_);
  const uint64_t target = queued_total_;
  auto sent = [this, target]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return done_total_ >= target; };
  mutex_.Await(absl::Condition(&sent));
}

uint64_t BatchingEmitter::failed() const {
  absl::MutexLock lock(&mutex_);
  return failed_;
}

void BatchingEmitter::Run() {
  while (true) {
    v1::EmitBatchRequest batch;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || queue_.size() >= options_.max_batch ||
               (!queue_.empty() &&
                std::chrono::steady_clock::now() - queue_.front().first >= options_.max_delay);
      };
      // Wakes on a new event or a stop; re-checks the oldest event's age
      // at least every max_delay.
      while (!ready()) {
        mutex_.AwaitWithTimeout(absl::Condition(&ready), absl::FromChrono(options_.max_delay));
      }
      if (queue_.empty()) {
        return;  // Stopping, and everything was sent.
      }
      while (!queue_.empty() && static_cast<size_t>(batch.emits_size()) < options_.max_batch) {
        *batch.add_emits() = std::move(queue_.front().second);
        queue_.pop_front();
      }
    }
    const int size = batch.emits_size();
    absl::StatusOr<v1::EmitBatchResponse> response = client_.EmitBatch(std::move(batch));
    uint64_t failed = 0;
    if (!response.ok()) {
      failed = size;
      ClientLog().warn("batch of {} events failed: {}", size, response.status().ToString());
    } else {
      for (const v1::EmitBatchResult& result : response->results()) {
        failed += result.has_error() ? 1 : 0;
      }
    }
    absl::MutexLock lock(&mutex_);
    done_total_ += size;
    failed_ += failed;
  }
}

}  // namespace roomcast
