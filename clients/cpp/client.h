#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "clients/cpp/client_options.h"
#include "clients/cpp/http_transport.h"
#include "roomcast/v1/roomcast.pb.h"

namespace roomcast {

// A service's handle on Roomcast's control plane. Every call goes over gRPC
// first; when the gRPC endpoint cannot be reached (not when the server
// answers with an error) the same call goes to the HTTP shim — counted,
// logged once per change — and back to gRPC once it is reachable again.
// Retryable failures are retried with backoff and jitter; every emit
// carries an idempotency key that stays the same across retries and
// transports, so a retry never delivers twice. Thread-safe.
class Client {
 public:
  enum class Transport { kGrpc, kHttp };

  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  static absl::StatusOr<std::unique_ptr<Client>> FromEnvironment() {
    return Create(ClientOptions::FromEnvironment());
  }

  absl::StatusOr<v1::EmitResponse> Emit(v1::EmitRequest request);
  absl::StatusOr<v1::EmitBatchResponse> EmitBatch(v1::EmitBatchRequest request);
  absl::StatusOr<v1::StatusResponse> Status(const v1::StatusRequest& request = {});
  absl::StatusOr<v1::HealthResponse> Health();
  absl::StatusOr<v1::ChangeRoomsResponse> JoinRooms(const v1::ChangeRoomsRequest& request);
  absl::StatusOr<v1::ChangeRoomsResponse> LeaveRooms(const v1::ChangeRoomsRequest& request);
  absl::StatusOr<v1::DisconnectSocketsResponse> DisconnectSockets(
      const v1::DisconnectSocketsRequest& request);
  absl::StatusOr<v1::ListRoomSocketsResponse> ListRoomSockets(
      const v1::ListRoomSocketsRequest& request);
  absl::StatusOr<v1::HistoryResponse> History(const v1::HistoryRequest& request = {});

  Transport last_transport() const { return last_transport_.load(); }
  // Calls that went to the HTTP shim because gRPC was unreachable.
  uint64_t fallbacks() const { return fallbacks_.load(); }

 private:
  Client(ClientOptions options, std::unique_ptr<HttpTransport> http);

  template <typename Response>
  absl::StatusOr<Response> Invoke(const std::string& method,
                                  const google::protobuf::Message& request) {
    Response response;
    if (absl::Status status = Call(method, request, response); !status.ok()) {
      return status;
    }
    return response;
  }
  // One call of `method` with retries and fallback; `response` is filled.
  absl::Status Call(const std::string& method, const google::protobuf::Message& request,
                    google::protobuf::Message& response);
  absl::Status CallGrpc(const std::string& method, const google::protobuf::Message& request,
                        google::protobuf::Message& response);
  absl::Status CallHttp(const std::string& method, const google::protobuf::Message& request,
                        google::protobuf::Message& response);
  // The channel to use now, or null while gRPC is known to be unreachable.
  std::shared_ptr<grpc::Channel> UsableChannel();
  void MarkGrpcDown();

  ClientOptions options_;
  std::unique_ptr<HttpTransport> http_;
  absl::Mutex mutex_;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mutex_);
  bool grpc_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::chrono::steady_clock::time_point next_probe_ ABSL_GUARDED_BY(mutex_);
  std::atomic<Transport> last_transport_{Transport::kGrpc};
  std::atomic<uint64_t> fallbacks_{0};
};

}  // namespace roomcast
