#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "clients/cpp/client_event_receiver.h"
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
//
// The events browsers send reach a service through ReceiveClientEvents (a
// gRPC stream, reopened when it ends) and are answered with Ack; EmitWithAck
// asks sockets and waits for their acks.
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

  // Answers the browser's ack callback of ClientEvent `id` with `args_json`, a
  // JSON array of the callback's arguments ("" for none). The first ack wins:
  // FAILED_PRECONDITION for a later one (also when a retry of this call finds
  // its own first attempt landed), NOT_FOUND for an unknown or expired id or
  // an event that wanted no ack, INVALID_ARGUMENT when args_json is not an array.
  absl::Status Ack(const std::string& id, const std::string& args_json = "");
  absl::Status Ack(const v1::AckClientEventRequest& request);
  // Emits to one socket, a room or a user's sockets and waits up to
  // timeout_ms (0: 5000) for each ack; the call's deadline is that wait plus
  // the per-attempt deadline. One attempt only (no idempotency key: a retry
  // could ask twice), though still over the HTTP shim when gRPC is unreachable.
  absl::StatusOr<v1::EmitWithAckResponse> EmitWithAck(const v1::EmitWithAckRequest& request);
  // Opens the client event stream (see ClientEventReceiver), with this
  // client's API key, over its gRPC channel. The Client must outlive it.
  std::unique_ptr<ClientEventReceiver> ReceiveClientEvents(
      v1::ReceiveClientEventsRequest request, ClientEventReceiver::EventCallback on_event,
      ClientEventReceiver::StatusCallback on_status = nullptr,
      ClientEventReceiver::Options options = {});

  Transport last_transport() const { return last_transport_.load(); }
  // Calls that went to the HTTP shim because gRPC was unreachable.
  uint64_t fallbacks() const { return fallbacks_.load(); }

 private:
  // How long each attempt of a call may take, and how many there are.
  struct Attempts {
    std::chrono::milliseconds deadline;
    int max_attempts;
  };

  Client(ClientOptions options, std::unique_ptr<HttpTransport> http,
         std::shared_ptr<grpc::ChannelCredentials> tls);

  template <typename Response>
  absl::StatusOr<Response> Invoke(const std::string& method,
                                  const google::protobuf::Message& request) {
    return Invoke<Response>(method, request, Attempts{options_.deadline, options_.max_attempts});
  }
  template <typename Response>
  absl::StatusOr<Response> Invoke(const std::string& method,
                                  const google::protobuf::Message& request,
                                  const Attempts& attempts) {
    Response response;
    if (absl::Status status = Call(method, request, response, attempts); !status.ok()) {
      return status;
    }
    return response;
  }
  // One call of `method` with retries and fallback; `response` is filled.
  absl::Status Call(const std::string& method, const google::protobuf::Message& request,
                    google::protobuf::Message& response, const Attempts& attempts);
  absl::Status CallGrpc(const std::string& method, const google::protobuf::Message& request,
                        google::protobuf::Message& response, std::chrono::milliseconds deadline);
  absl::Status CallHttp(const std::string& method, const google::protobuf::Message& request,
                        google::protobuf::Message& response, std::chrono::milliseconds deadline);
  // The channel to use now, or null while gRPC is known to be unreachable.
  std::shared_ptr<grpc::Channel> UsableChannel();
  // The channel for a stream: the usable one, else the current one (a stream
  // has no HTTP fallback; gRPC reconnects it).
  std::shared_ptr<grpc::Channel> StreamChannel();
  void MarkGrpcDown();

  ClientOptions options_;
  std::unique_ptr<HttpTransport> http_;
  std::shared_ptr<grpc::ChannelCredentials> tls_;  // Null: plaintext gRPC.
  absl::Mutex mutex_;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mutex_);
  bool grpc_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::chrono::steady_clock::time_point next_probe_ ABSL_GUARDED_BY(mutex_);
  std::atomic<Transport> last_transport_{Transport::kGrpc};
  std::atomic<uint64_t> fallbacks_{0};
};

}  // namespace roomcast
