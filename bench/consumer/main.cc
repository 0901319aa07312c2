// roomcast-consumer: the service side of the client-event benchmarks. It
// opens a ReceiveClientEvents stream with roomcast::Client (clients/cpp), as
// a service would, and answers every event that wants an ack with
// AckClientEvent from a pool of threads (the stream's callback runs on a gRPC
// thread and must not block); events that want none are only counted, with
// the rate they arrived at. It stops on SIGTERM or SIGINT, after
// --duration_s, after --max_events answers, or when the stream fails for
// good, and then prints its counts as one JSON line. See bench/README.md.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/flags/flag.h>
#include <absl/flags/parse.h>
#include <absl/flags/usage.h>
#include <absl/status/status.h>
#include <absl/strings/str_split.h>
#include <absl/synchronization/mutex.h>
#include <boost/json.hpp>

#include "clients/cpp/client.h"

ABSL_FLAG(std::string, grpc_target, "127.0.0.1:50051", "roomcastd's gRPC address.");
ABSL_FLAG(std::string, http_url, "http://127.0.0.1:3001",
          "roomcastd's HTTP shim (where the client's calls go while gRPC is unreachable).");
ABSL_FLAG(std::string, api_key, "", "INTERNAL_API_KEY, when the server wants one.");
ABSL_FLAG(std::string, nsp, "/", "The Socket.IO namespace to receive from.");
ABSL_FLAG(std::string, events, "bench:ask", "Event names, comma-separated; empty: every event.");
ABSL_FLAG(std::string, group, "bench", "The stream's group (streams of one group share events).");
ABSL_FLAG(std::string, ack_args_json, "[{\"ok\":true}]",
          "Every ack's arguments, a JSON array: what the browser's callback gets.");
ABSL_FLAG(int, ack_threads, 8, "Threads answering acks, each one AckClientEvent call at a time.");
ABSL_FLAG(double, duration_s, 600, "Stop after this long; 0: only on a signal.");
ABSL_FLAG(int64_t, max_events, 0, "Stop once this many acks were answered; 0: no bound.");

namespace roomcast::bench {
namespace {

// How often the wait for a signal looks at the other reasons to stop.
constexpr long kPollNs = 50 * 1000 * 1000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Counts by status code, for the JSON ({"NOT_FOUND": 3}).
class CodeCounts {
 public:
  void Add(absl::StatusCode code) {
    absl::MutexLock lock(&mutex_);
    ++counts_[code];
  }
  boost::json::object Json() const {
    absl::MutexLock lock(&mutex_);
    boost::json::object out;
    for (const auto& [code, count] : counts_) out[absl::StatusCodeToString(code)] = count;
    return out;
  }

 private:
  mutable absl::Mutex mutex_;
  std::map<absl::StatusCode, int64_t> counts_ ABSL_GUARDED_BY(mutex_);
};

// Ack ids from the stream's callback to threads calling Client::Ack. Ids
// still queued at Stop() are dropped, and counted.
class AckPool {
 public:
  AckPool(Client& client, std::string args_json, int threads)
      : client_(client), args_json_(std::move(args_json)) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
  }
  ~AckPool() { Stop(); }
  AckPool(const AckPool&) = delete;
  AckPool& operator=(const AckPool&) = delete;

  void Add(std::string id) {
    absl::MutexLock lock(&mutex_);
    queue_.push_back(std::move(id));
  }

  void Stop() {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      stopping_ = true;
      dropped_ = static_cast<int64_t>(queue_.size());
      queue_.clear();
    }
    for (std::thread& thread : threads_) thread.join();
  }

  int64_t answered() const { return acked() + failed(); }
  int64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  int64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  // Valid after Stop().
  int64_t dropped() const {
    absl::MutexLock lock(&mutex_);
    return dropped_;
  }
  boost::json::object failures() const { return failures_.Json(); }

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
        if (stopping_) return;
        id = std::move(queue_.front());
        queue_.pop_front();
      }
      if (absl::Status status = client_.Ack(id, args_json_); status.ok()) {
        acked_.fetch_add(1, std::memory_order_relaxed);
      } else {
        failed_.fetch_add(1, std::memory_order_relaxed);
        failures_.Add(status.code());
      }
    }
  }

  Client& client_;
  const std::string args_json_;
  mutable absl::Mutex mutex_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t dropped_ ABSL_GUARDED_BY(mutex_) = 0;
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> failed_{0};
  CodeCounts failures_;
  std::vector<std::thread> threads_;  // Last: they start once the rest is set.
};

int Run() {
  // Before any thread exists, so that every thread inherits the mask and
  // the signals wait for sigtimedwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ClientOptions options;
  options.grpc_target = absl::GetFlag(FLAGS_grpc_target);
  options.http_url = absl::GetFlag(FLAGS_http_url);
  options.api_key = absl::GetFlag(FLAGS_api_key);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  if (!client.ok()) {
    std::cerr << "roomcast-consumer: " << client.status() << "\n";
    return 2;
  }
  v1::ReceiveClientEventsRequest request;
  request.set_namespace_(absl::GetFlag(FLAGS_nsp));
  request.set_group(absl::GetFlag(FLAGS_group));
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_events), ',', absl::SkipEmpty())) {
    request.add_events(std::string(name));
  }

  const auto started = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  std::atomic<int64_t> events{0};
  std::atomic<int64_t> wanted_ack{0};
  // When the first and the last event arrived: the rate they came at.
  std::atomic<int64_t> first_ns{0};
  std::atomic<int64_t> last_ns{0};
  CodeCounts stream_ends;
  AckPool acks(**client, absl::GetFlag(FLAGS_ack_args_json), absl::GetFlag(FLAGS_ack_threads));
  std::unique_ptr<ClientEventReceiver> receiver = (*client)->ReceiveClientEvents(
      request,
      [&](const v1::ClientEvent& event) {
        const int64_t now = NowNs();
        int64_t none = 0;
        first_ns.compare_exchange_strong(none, now, std::memory_order_relaxed);
        last_ns.store(now, std::memory_order_relaxed);
        events.fetch_add(1, std::memory_order_relaxed);
        if (event.wants_ack()) {
          wanted_ack.fetch_add(1, std::memory_order_relaxed);
          acks.Add(event.id());
        }
      },
      [&](const absl::Status& status) {
        stream_ends.Add(status.code());
        std::cerr << "roomcast-consumer: stream ended: " << status << "\n";
      });

  const double duration_s = absl::GetFlag(FLAGS_duration_s);
  const int64_t max_events = absl::GetFlag(FLAGS_max_events);
  std::string stopped_by;
  while (stopped_by.empty()) {
    timespec wait{0, kPollNs};
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (sigtimedwait(&stop_signals, nullptr, &wait) > 0) {
      stopped_by = "signal";
    } else if (duration_s > 0 && elapsed >= duration_s) {
      stopped_by = "duration";
    } else if (max_events > 0 && acks.answered() >= max_events) {
      stopped_by = "max_events";
    } else if (receiver->done()) {
      stopped_by = "stream";
    }
  }
  receiver->Stop();
  const absl::Status final_status = receiver->Wait();
  receiver.reset();  // Its callback uses the pool.
  acks.Stop();

  boost::json::object out;
  out["events"] = events.load();
  const double receive_s = static_cast<double>(last_ns.load() - first_ns.load()) / 1e9;
  out["receive_s"] = receive_s;
  out["events_per_s"] = receive_s > 0 ? static_cast<double>(events.load() - 1) / receive_s : 0.0;
  out["wanted_ack"] = wanted_ack.load();
  out["acked"] = acks.acked();
  out["ack_failures"] = acks.failures();
  out["dropped_acks"] = acks.dropped();
  out["stream_ends"] = stream_ends.Json();
  out["stopped_by"] = stopped_by;
  out["final_status"] = final_status.ToString();
  out["ack_threads"] = absl::GetFlag(FLAGS_ack_threads);
  out["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out["cpu_s"] = CpuSeconds() - cpu_start;
  std::cout << boost::json::serialize(out) << std::endl;
  return final_status.ok() ? 0 : 1;
}

}  // namespace
}  // namespace roomcast::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Receives client events (ReceiveClientEvents) and acks every one (AckClientEvent).");
  absl::ParseCommandLine(argc, argv);
  return roomcast::bench::Run();
}
