#include "clients/cli/events.h"

#include <ctime>
#include <deque>
#include <memory>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace roomcast::cli {
namespace {

namespace json = boost::json;

// How often the wait for a stop signal looks whether the receiver gave up.
constexpr long kSignalPollNs = 200 * 1000 * 1000;
// Acks waiting for the acker at most; beyond, an event's ack is dropped (its
// browser then gets the server's timeout).
constexpr size_t kMaxPendingAcks = 10000;

// Acks on a thread of its own: events arrive on a gRPC thread, which must not
// block on a call. Queued acks are dropped when it stops.
class Acker {
 public:
  Acker(Client& client, std::string args_json,
        const std::function<void(const std::string&)>& on_note)
      : client_(client),
        args_json_(std::move(args_json)),
        on_note_(on_note),
        thread_([this] { Run(); }) {}

  ~Acker() {
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
    }
    thread_.join();
  }

  Acker(const Acker&) = delete;
  Acker& operator=(const Acker&) = delete;

  void Add(const std::string& id) {
    absl::MutexLock lock(&mutex_);
    if (queue_.size() >= kMaxPendingAcks) {
      on_note_(absl::StrCat("ack of ", id, " dropped: ", kMaxPendingAcks, " acks waiting"));
      return;
    }
    queue_.push_back(id);
  }

 private:
  void Run() {
    while (true) {
      std::string id;
      {
        absl::MutexLock lock(&mutex_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          return stopping_ || !queue_.empty();
        };
        mutex_.Await(absl::Condition(&ready));
        if (stopping_) {
          return;
        }
        id = std::move(queue_.front());
        queue_.pop_front();
      }
      if (absl::Status status = client_.Ack(id, args_json_); !status.ok()) {
        on_note_(absl::StrCat("ack of ", id, " failed: ", status.ToString()));
      }
    }
  }

  Client& client_;
  const std::string args_json_;
  const std::function<void(const std::string&)>& on_note_;
  absl::Mutex mutex_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;  // Last: starts once the rest is set.
};

}  // namespace

std::string ClientEventLine(const v1::ClientEvent& event) {
  json::object line;
  line["id"] = event.id();
  line["namespace"] = event.namespace_();
  line["event"] = event.event();
  line["kind"] = event.kind();
  boost::system::error_code ec;
  json::value args = json::parse(event.args_json(), ec);
  if (event.args_json().empty()) {
    line["args"] = json::array();
  } else if (ec) {
    line["args"] = event.args_json();  // Not JSON (never from roomcastd): shown as text.
  } else {
    line["args"] = std::move(args);
  }
  line["socketId"] = event.socket_id();
  line["userId"] = event.user_id();
  json::array rooms;
  for (const std::string& room : event.rooms()) {
    rooms.emplace_back(room);
  }
  line["rooms"] = std::move(rooms);
  line["nodeId"] = event.node_id();
  line["wantsAck"] = event.wants_ack();
  line["time"] = event.time_ms();
  line["reason"] = event.reason();
  if (!event.attachments().empty()) {
    json::array attachments;
    for (const std::string& attachment : event.attachments()) {
      attachments.emplace_back(absl::Base64Escape(attachment));
    }
    line["attachments"] = std::move(attachments);
  }
  return json::serialize(line);
}

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

absl::Status ReceiveEvents(Client& client, const EventsOptions& options,
                           const sigset_t& stop_signals,
                           const std::function<void(const std::string&)>& on_line,
                           const std::function<void(const std::string&)>& on_note) {
  std::unique_ptr<Acker> acker;
  if (options.ack_args_json) {
    acker = std::make_unique<Acker>(client, *options.ack_args_json, on_note);
  }
  std::unique_ptr<ClientEventReceiver> receiver = client.ReceiveClientEvents(
      options.request,
      [&](const v1::ClientEvent& event) {
        on_line(ClientEventLine(event));
        if (acker != nullptr && event.wants_ack()) {
          acker->Add(event.id());
        }
      },
      [&](const absl::Status& status) {
        if (!ClientEventReceiver::IsPermanent(status.code())) {
          on_note(absl::StrCat("event stream ended (", status.ToString(), "); reconnecting"));
        }
      });
  while (!receiver->done()) {
    timespec wait{0, kSignalPollNs};
    if (sigtimedwait(&stop_signals, nullptr, &wait) > 0) {
      receiver->Stop();
    }
  }
  absl::Status status = receiver->Wait();
  receiver.reset();  // Its callbacks use the acker.
  acker.reset();
  return status;
}

}  // namespace roomcast::cli
