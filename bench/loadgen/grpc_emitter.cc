#include "bench/loadgen/grpc_emitter.h"

#include <atomic>
#include <iostream>
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

void EmitUnary(EmitPlan& plan, v1::Roomcast::Stub& stub) {
  while (plan.Next()) {
    EmitItem item = plan.Make();
    grpc::ClientContext context;
    v1::EmitResponse response;
    grpc::Status status = stub.Emit(&context, RequestFor(item), &response);
    if (status.ok()) {
      plan.Succeeded(1);
    } else {
      LogFirstFailure(status);
      plan.Failed(item);
    }
  }
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

void RunGrpcEmitters(EmitPlan& plan, const std::string& target, int concurrency, int batch_size) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::Roomcast::Stub> stub = v1::Roomcast::NewStub(channel);
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back([&] {
      if (batch_size > 0) {
        EmitBatches(plan, *stub, batch_size);
      } else {
        EmitUnary(plan, *stub);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace roomcast::bench
