#include "bench/loadgen/grpc_emitter.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "roomcast/v1/roomcast.grpc.pb.h"

namespace roomcast::bench {

namespace {

void LogFirstFailure(const grpc::Status& status) {
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true)) {
    std::cerr << "emit failed: " << status.error_code() << " " << status.error_message() << "\n";
  }
}

v1::EmitRequest RequestFor(const EmitItem& item) {
  v1::EmitRequest request;
  if (!item.room.empty()) request.set_room(item.room);
  request.set_event("bench");
  request.set_data_json(item.data_json);
  return request;
}

// One call chain of the callback API: a call in flight at a time, the next
// one started from the completion of the last, so that many chains cost the
// loadgen no thread each (the server is what is measured).
class UnaryCaller {
 public:
  UnaryCaller(EmitPlan& plan, v1::Roomcast::Stub& stub) : plan_(plan), stub_(stub) {}

  void Begin() { Start(); }
  void Wait() {
    std::unique_lock lock(mutex_);
    finished_cv_.wait(lock, [this] { return finished_; });
  }

 private:
  void Start() {
    if (!plan_.Next()) {
      std::lock_guard lock(mutex_);
      finished_ = true;
      finished_cv_.notify_one();
      return;
    }
    item_ = plan_.Make();
    request_ = RequestFor(item_);
    context_ = std::make_unique<grpc::ClientContext>();
    stub_.async()->Emit(context_.get(), &request_, &response_, [this](const grpc::Status& status) {
      if (status.ok()) {
        plan_.Succeeded(1);
      } else {
        LogFirstFailure(status);
        plan_.Failed(item_);
      }
      Start();
    });
  }

  EmitPlan& plan_;
  v1::Roomcast::Stub& stub_;
  EmitItem item_;
  v1::EmitRequest request_;
  v1::EmitResponse response_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::mutex mutex_;
  std::condition_variable finished_cv_;
  bool finished_ = false;
};

// `in_flight` calls at a time from one caller thread.
void EmitUnary(EmitPlan& plan, v1::Roomcast::Stub& stub, int in_flight) {
  std::vector<std::unique_ptr<UnaryCaller>> callers;
  for (int i = 0; i < in_flight; ++i) {
    callers.push_back(std::make_unique<UnaryCaller>(plan, stub));
    callers.back()->Begin();
  }
  for (auto& caller : callers) caller->Wait();
}

void EmitBatches(EmitPlan& plan, v1::Roomcast::Stub& stub, int batch_size) {
  bool open = true;
  while (open) {
    std::vector<EmitItem> items;
    v1::EmitBatchRequest request;
    while (static_cast<int>(items.size()) < batch_size && (open = plan.Next())) {
      items.push_back(plan.Make());
      *request.add_emits() = RequestFor(items.back());
    }
    if (items.empty()) break;
    grpc::ClientContext context;
    v1::EmitBatchResponse response;
    grpc::Status status = stub.EmitBatch(&context, request, &response);
    for (size_t i = 0; i < items.size(); ++i) {
      bool ok = status.ok() && static_cast<int>(i) < response.results_size() &&
                response.results(static_cast<int>(i)).has_emitted();
      if (ok) {
        plan.Succeeded(1);
      } else {
        if (!status.ok()) LogFirstFailure(status);
        plan.Failed(items[i]);
      }
    }
  }
}

}  // namespace

void RunGrpcEmitters(EmitPlan& plan, const std::string& target, int concurrency, int batch_size,
                     int in_flight) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::Roomcast::Stub> stub = v1::Roomcast::NewStub(channel);
  std::vector<std::thread> threads;
  threads.reserve(concurrency);
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back([&] {
      if (batch_size > 0) {
        EmitBatches(plan, *stub, batch_size);
      } else {
        EmitUnary(plan, *stub, std::max(1, in_flight));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace roomcast::bench
