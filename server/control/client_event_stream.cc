#include "server/control/client_event_stream.h"

#include <deque>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "server/control/status_map.h"

namespace roomcast::control {

// What the hub pushes into, shared with it: the reactor may be gone (after
// OnDone) while the hub still holds this.
class ClientEventStream::Outbox final : public ClientEventConsumer {
 public:
  Outbox(ClientEventStream& stream, ClientEventHub& hub, size_t max_bytes, base::Counters& counters)
      : stream_(&stream), hub_(hub), max_bytes_(max_bytes), counters_(counters) {}

  bool Push(std::shared_ptr<const v1::ClientEvent> event) override {
    const size_t size = event->ByteSizeLong();
    const v1::ClientEvent* write = nullptr;
    std::optional<grpc::Status> finish;
    Events dropped;
    {
      std::lock_guard lock(mutex_);
      if (finished_) {
        return false;
      }
      if (bytes_ + size <= max_bytes_) {
        bytes_ += size;
        queue_.push_back(std::move(event));
        if (!writing_) {
          writing_ = true;
          write = queue_.front().get();
        }
      } else {
        base::Counters::Bump(counters_.client_event_streams_cut);
        spdlog::warn("control: client event stream cut: too slow waiting_bytes={} limit={}", bytes_,
                     max_bytes_);
        finish =
            End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat("client event stream too slow: more than ", max_bytes_,
                                          " bytes waiting; reconnect and read faster")),
                dropped);
      }
    }
    // Acted on outside the lock: gRPC may run OnWriteDone on another thread at once.
    if (event == nullptr) {  // Queued.
      if (write != nullptr) {
        stream_->StartWrite(write);
      }
      return true;
    }
    Report(dropped);
    if (finish) {
      stream_->Finish(*finish);
    }
    return false;
  }

  void End(const absl::Status& status) override {
    std::optional<grpc::Status> finish;
    Events dropped;
    {
      std::lock_guard lock(mutex_);
      if (finished_) {
        return;
      }
      finish = End(ToGrpcStatus(status), dropped);
    }
    Report(dropped);
    if (finish) {
      stream_->Finish(*finish);
    }
  }

  // A write finished (`wrote`), or the initial metadata went out.
  void OnSent(bool ok, bool wrote) {
    const v1::ClientEvent* write = nullptr;
    bool more = false;
    std::optional<grpc::Status> finish;
    Events dropped;
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
      if (wrote && !queue_.empty()) {
        bytes_ -= queue_.front()->ByteSizeLong();
        queue_.pop_front();
      }
      if (!ok && !finished_) {
        finish = End(grpc::Status(grpc::StatusCode::CANCELLED, "the consumer went away"), dropped);
      } else if (final_status_ && finished_ && !finish_sent_) {
        finish_sent_ = true;
        finish = final_status_;
      } else if (!finished_ && !queue_.empty()) {
        writing_ = true;
        write = queue_.front().get();
        more = queue_.size() > 1;
      }
    }
    Report(dropped);
    if (write != nullptr) {
      // More behind it: gRPC may hold this one and send them together (the
      // last one of a run goes without the hint, which flushes them all).
      stream_->StartWrite(write,
                          more ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions());
    } else if (finish) {
      stream_->Finish(*finish);
    }
  }

 private:
  using Events = std::deque<std::shared_ptr<const v1::ClientEvent>>;

  // Outside the lock: the hub answers their browsers.
  void Report(const Events& dropped) {
    for (const auto& event : dropped) {
      hub_.Dropped(*event);
    }
  }

  // Under the lock: the status to Finish with now, or none while a write is
  // in flight (OnWriteDone finishes then). The events not yet written go to
  // `dropped`; the one in flight may still arrive.
  std::optional<grpc::Status> End(grpc::Status status, Events& dropped) {
    finished_ = true;
    const auto unsent = queue_.begin() + (writing_ && !queue_.empty() ? 1 : 0);
    dropped.assign(std::make_move_iterator(unsent), std::make_move_iterator(queue_.end()));
    queue_.erase(unsent, queue_.end());
    if (writing_) {
      final_status_ = std::move(status);
      return std::nullopt;
    }
    finish_sent_ = true;
    return status;
  }

  ClientEventStream* const stream_;
  ClientEventHub& hub_;
  const size_t max_bytes_;
  base::Counters& counters_;
  std::mutex mutex_;
  Events queue_;  // The front is being written.
  size_t bytes_ = 0;
  // The initial metadata counts as the first write: events wait for it.
  bool writing_ = true;
  bool finished_ = false;
  bool finish_sent_ = false;
  std::optional<grpc::Status> final_status_;
};

ClientEventStream::ClientEventStream(ClientEventHub& hub, ClientEventFilter filter,
                                     size_t max_buffer_bytes, base::Counters& counters)
    : hub_(hub), outbox_(std::make_shared<Outbox>(*this, hub, max_buffer_bytes, counters)) {
  handle_ = hub_.Add(std::move(filter), outbox_);
  StartSendInitialMetadata();
}

void ClientEventStream::OnSendInitialMetadataDone(bool ok) { outbox_->OnSent(ok, false); }

void ClientEventStream::OnWriteDone(bool ok) { outbox_->OnSent(ok, true); }

void ClientEventStream::OnCancel() { outbox_->End(absl::CancelledError("the consumer cancelled")); }

void ClientEventStream::OnDone() {
  // Finish happened once and no write is in flight: the outbox calls nothing more.
  hub_.Remove(handle_);
  delete this;
}

namespace {

class Refusal final : public grpc::ServerWriteReactor<v1::ClientEvent> {
 public:
  explicit Refusal(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::ClientEvent>* ClientEventStream::Refuse(const absl::Status& status) {
  return new Refusal(status);
}

}  // namespace roomcast::control
