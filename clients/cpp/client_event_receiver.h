#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/channel.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "roomcast/v1/client_events.pb.h"

namespace roomcast {

// The events browsers send (ReceiveClientEvents, a gRPC server stream; there
// is no HTTP fallback for it), kept open: when the stream ends it is opened
// again after an exponential backoff with jitter, and each end's status goes
// to `on_status` (UNAVAILABLE: the server went away or is draining;
// RESOURCE_EXHAUSTED: it cut this stream as too slow to read). It stops for
// good on UNAUTHENTICATED, INVALID_ARGUMENT or PERMISSION_DENIED (a retry
// would be refused the same way), on Stop() and on destruction.
//
// `on_event` runs on a gRPC thread, one event at a time and in order; the
// next event is read only once it returns, so a slow callback slows the
// stream down until the server cuts it. An event with wants_ack is answered
// with Client::Ack, from another thread: blocking on a call inside
// `on_event` holds up a gRPC thread. `on_status` runs on the receiver's own
// thread, after the last `on_event` of that stream. Neither may throw
// (what they throw is logged and dropped).
//
// Teardown: Stop() and the destructor return only after the open stream's
// OnDone ran and the reconnect timer's thread finished, so no callback runs
// into a destroyed receiver. Called from one of its own callbacks, Stop()
// only asks for the stop (waiting there would wait for itself); never
// destroy the receiver from one of its callbacks.
class ClientEventReceiver {
 public:
  struct Options {
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    // A stream that delivered something, or stayed open this long, was
    // healthy: the reconnect after it starts from initial_backoff again.
    std::chrono::milliseconds healthy_after{5000};
  };
  using EventCallback = std::function<void(const v1::ClientEvent& event)>;
  using StatusCallback = std::function<void(const absl::Status& status)>;
  // The channel for the next stream (the Client's, which may change when it
  // finds the server again on another address).
  using ChannelSource = std::function<std::shared_ptr<grpc::Channel>()>;

  // Opens the first stream at once. `api_key` (when not empty) goes in every
  // stream's metadata as `authorization: Bearer KEY`.
  ClientEventReceiver(ChannelSource channels, std::string api_key,
                      v1::ReceiveClientEventsRequest request, EventCallback on_event,
                      StatusCallback on_status, Options options);
  ~ClientEventReceiver();
  ClientEventReceiver(const ClientEventReceiver&) = delete;
  ClientEventReceiver& operator=(const ClientEventReceiver&) = delete;

  // Ends the open stream (if any) and reconnects no more; returns once its
  // OnDone ran. Idempotent, any thread. The stream it cancels is not
  // reported to `on_status`.
  void Stop();

  // True once the receiver stopped for good (Stop() or a permanent error).
  bool done() const;
  // Blocks until done(); the status that ended it (OK after Stop()).
  absl::Status Wait();

  // Codes that end the receiver instead of a reconnect.
  static bool IsPermanent(absl::StatusCode code);

 private:
  class Stream;

  void Run();
  // From the stream's reactor, on gRPC's threads.
  void Deliver(const v1::ClientEvent& event);
  void StreamDone(const absl::Status& status);
  void Report(const absl::Status& status);
  bool InOwnCallback() const;

  const ChannelSource channels_;
  const std::string api_key_;
  const v1::ReceiveClientEventsRequest request_;
  const EventCallback on_event_;
  const StatusCallback on_status_;
  const Options options_;

  std::atomic<bool> stopping_{false};  // Read per event without the lock.
  mutable absl::Mutex mutex_;
  absl::CondVar changed_;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  // The open stream: Stop() cancels it; Run() frees it only once its OnDone
  // ran and no Stop() is still inside its TryCancel.
  Stream* stream_ ABSL_GUARDED_BY(mutex_) = nullptr;
  bool stream_done_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status stream_status_ ABSL_GUARDED_BY(mutex_);
  int cancelling_ ABSL_GUARDED_BY(mutex_) = 0;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status final_status_ ABSL_GUARDED_BY(mutex_);
  std::thread runner_;  // Last: starts once everything above is set.
};

}  // namespace roomcast
