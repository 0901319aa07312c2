#include "clients/cpp/client_event_receiver.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cpp/log.h"
#include "roomcast/v1/roomcast.grpc.pb.h"

namespace roomcast {
namespace {

// The receiver whose on_event this thread is running, if any.
thread_local const ClientEventReceiver* tls_delivering = nullptr;
// The receiver whose Run() this thread is (where on_status runs).
thread_local const ClientEventReceiver* tls_running = nullptr;

}  // namespace

// One ReceiveClientEvents call. Owned by the receiver's Run(), which frees it
// only after OnDone: gRPC touches neither the reactor nor the context after
// that, and OnDone's last act is to say so under the receiver's lock.
class ClientEventReceiver::Stream final : public grpc::ClientReadReactor<v1::ClientEvent> {
 public:
  Stream(ClientEventReceiver& owner, std::shared_ptr<grpc::Channel> channel)
      : owner_(owner), stub_(v1::Roomcast::NewStub(std::move(channel))) {
    if (!owner_.api_key_.empty()) {
      context_.AddMetadata("authorization", absl::StrCat("Bearer ", owner_.api_key_));
    }
  }

  void Start() {
    stub_->async()->ReceiveClientEvents(&context_, &owner_.request_, this);
    StartRead(&event_);
    StartCall();
  }

  // Any thread; before Start() too (the call then starts cancelled). May run
  // this stream's reactions, OnDone included, before it returns.
  void Cancel() { context_.TryCancel(); }

  bool delivered() const { return delivered_.load(std::memory_order_acquire); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;  // The stream ended: OnDone follows with its status.
    }
    delivered_.store(true, std::memory_order_release);
    owner_.Deliver(event_);
    event_.Clear();
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    owner_.StreamDone(
        absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()));
    // Nothing after this: Run() may free the stream as soon as the lock is released.
  }

 private:
  ClientEventReceiver& owner_;
  std::unique_ptr<v1::Roomcast::Stub> stub_;
  grpc::ClientContext context_;
  v1::ClientEvent event_;
  std::atomic<bool> delivered_{false};
};

ClientEventReceiver::ClientEventReceiver(ChannelSource channels, std::string api_key,
                                         v1::ReceiveClientEventsRequest request,
                                         EventCallback on_event, StatusCallback on_status,
                                         Options options)
    : channels_(std::move(channels)),
      api_key_(std::move(api_key)),
      request_(std::move(request)),
      on_event_(std::move(on_event)),
      on_status_(std::move(on_status)),
      options_(options),
      runner_([this] { Run(); }) {}

ClientEventReceiver::~ClientEventReceiver() {
  Stop();
  runner_.join();
}

bool ClientEventReceiver::IsPermanent(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kInvalidArgument ||
         code == absl::StatusCode::kPermissionDenied;
}

bool ClientEventReceiver::InOwnCallback() const {
  return tls_delivering == this || tls_running == this;
}

void ClientEventReceiver::Stop() {
  Stream* to_cancel = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    stop_requested_ = true;
    stopping_.store(true, std::memory_order_release);
    changed_.SignalAll();  // Wakes a reconnect wait.
    if (stream_ != nullptr && !stream_done_) {
      to_cancel = stream_;
      ++cancelling_;  // Keeps Run() from freeing it while TryCancel runs.
    }
  }
  if (to_cancel != nullptr) {
    // Not under mutex_: TryCancel may run the stream's OnDone on this thread.
    to_cancel->Cancel();
    absl::MutexLock lock(&mutex_);
    --cancelling_;
    changed_.SignalAll();
  }
  if (InOwnCallback()) {
    return;  // The stream's OnDone (or Run's next step) comes after this callback returns.
  }
  absl::MutexLock lock(&mutex_);
  while (!finished_) {
    changed_.Wait(&mutex_);
  }
}

bool ClientEventReceiver::done() const {
  absl::MutexLock lock(&mutex_);
  return finished_;
}

absl::Status ClientEventReceiver::Wait() {
  absl::MutexLock lock(&mutex_);
  while (!finished_) {
    changed_.Wait(&mutex_);
  }
  return final_status_;
}

void ClientEventReceiver::Deliver(const v1::ClientEvent& event) {
  if (stopping_.load(std::memory_order_acquire)) {
    return;
  }
  const ClientEventReceiver* outer = tls_delivering;
  tls_delivering = this;
  try {
    on_event_(event);
  } catch (const std::exception& e) {
    ClientLog().error("client event callback threw: {}", e.what());
  } catch (...) {
    ClientLog().error("client event callback threw");
  }
  tls_delivering = outer;
}

void ClientEventReceiver::StreamDone(const absl::Status& status) {
  absl::MutexLock lock(&mutex_);
  stream_status_ = status;
  stream_done_ = true;
  changed_.SignalAll();
}

void ClientEventReceiver::Report(const absl::Status& status) {
  if (!on_status_) {
    return;
  }
  try {
    on_status_(status);
  } catch (const std::exception& e) {
    ClientLog().error("client event status callback threw: {}", e.what());
  } catch (...) {
    ClientLog().error("client event status callback threw");
  }
}

void ClientEventReceiver::Run() {
  tls_running = this;
  absl::BitGen gen;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  absl::Status final_status;
  while (true) {
    absl::Status status;
    bool healthy = false;
    std::shared_ptr<grpc::Channel> channel = channels_();
    if (channel == nullptr) {
      status = absl::UnavailableError("no gRPC channel to open the client event stream on");
    } else {
      auto stream = std::make_unique<Stream>(*this, std::move(channel));
      {
        absl::MutexLock lock(&mutex_);
        if (stop_requested_) {
          break;
        }
        stream_ = stream.get();
        stream_done_ = false;
      }
      const auto opened_at = std::chrono::steady_clock::now();
      stream->Start();
      {
        absl::MutexLock lock(&mutex_);
        while (!stream_done_ || cancelling_ > 0) {
          changed_.Wait(&mutex_);
        }
        stream_ = nullptr;
        status = stream_status_;
      }
      healthy = stream->delivered() ||
                std::chrono::steady_clock::now() - opened_at >= options_.healthy_after;
      stream.reset();  // Its OnDone ran, and no Stop() still holds it.
    }
    if (stopping_.load(std::memory_order_acquire)) {
      break;  // Ended by Stop(): nothing to report.
    }
    Report(status);
    if (IsPermanent(status.code())) {
      final_status = status;
      break;
    }
    if (healthy) {
      backoff = options_.initial_backoff;
    }
    // Jittered: a random wait between half the backoff and all of it.
    const std::chrono::milliseconds delay(
        absl::Uniform<int64_t>(gen, backoff.count() / 2, backoff.count() + 1));
    backoff = std::min(backoff * 2, options_.max_backoff);
    absl::MutexLock lock(&mutex_);
    const absl::Time until = absl::Now() + absl::FromChrono(delay);
    while (!stop_requested_ && !changed_.WaitWithDeadline(&mutex_, until)) {
    }
    if (stop_requested_) {
      break;
    }
  }
  absl::MutexLock lock(&mutex_);
  finished_ = true;
  final_status_ = final_status;
  changed_.SignalAll();
}

}  // namespace roomcast
