#include "clients/cpp/client.h"

#include <algorithm>
#include <future>
#include <thread>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <boost/json.hpp>
#include <boost/url/url.hpp>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cpp/client_tls.h"
#include "clients/cpp/log.h"
#include "clients/cpp/loopback.h"
#include "google/api/annotations.pb.h"

namespace roomcast {
namespace {

namespace protobuf = google::protobuf;
namespace http = boost::beast::http;

constexpr char kService[] = "roomcast.v1.Roomcast";
constexpr auto kProbeTimeout = std::chrono::milliseconds(300);
constexpr auto kReprobeEvery = std::chrono::milliseconds(1000);
// EmitWithAck's wait when timeout_ms is 0, and the most the server allows.
constexpr uint32_t kDefaultAckWaitMs = 5000;
constexpr uint32_t kMaxAckWaitMs = 300000;

std::string NewIdempotencyKey() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded;
}

// For `localhost`, the loopback address that answers, as a gRPC target of
// that family; nullopt when none does. Other targets are left to gRPC.
std::optional<std::string> ReachableTarget(const std::string& target) {
  auto host_port = SplitHostPort(target);
  if (!host_port.ok() || absl::AsciiStrToLower(host_port->first) != "localhost") {
    return target;
  }
  auto endpoints = ResolveAll(host_port->first, host_port->second);
  if (!endpoints.ok()) {
    return std::nullopt;
  }
  boost::asio::io_context io;
  absl::StatusOr<boost::asio::ip::tcp::socket> probe = ConnectFirst(io, *endpoints, kProbeTimeout);
  boost::system::error_code ec;
  const boost::asio::ip::tcp::endpoint reachable =
      probe.ok() ? probe->remote_endpoint(ec) : boost::asio::ip::tcp::endpoint();
  if (!probe.ok() || ec) {
    return std::nullopt;
  }
  return reachable.address().is_v6() ? absl::StrCat("ipv6:[::1]:", host_port->second)
                                     : absl::StrCat("ipv4:127.0.0.1:", host_port->second);
}

// `target` may be a loopback address standing for `configured`: the
// server's certificate still has to name the configured host.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const std::string& configured,
                                           const std::shared_ptr<grpc::ChannelCredentials>& tls) {
  grpc::ChannelArguments args;
  if (tls != nullptr && target != configured) {
    if (auto host_port = SplitHostPort(configured); host_port.ok()) {
      args.SetSslTargetNameOverride(host_port->first);
    }
  }
  // Reconnect quickly, so a recovered server is used again within seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(target,
                                   tls != nullptr ? tls : grpc::InsecureChannelCredentials(), args);
}

const protobuf::MethodDescriptor* FindMethod(const std::string& method) {
  return protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      absl::StrCat(kService, ".", method));
}

// The HTTP shim's route for `method`, from its google.api.http option.
std::pair<http::verb, std::string> RouteOf(const protobuf::MethodDescriptor& method) {
  const google::api::HttpRule& rule = method.options().GetExtension(google::api::http);
  if (rule.has_get()) {
    return {http::verb::get, rule.get()};
  }
  return {http::verb::post, rule.post()};
}

// A GET request's fields as query parameters.
std::string WithQuery(const std::string& path, const std::string& json) {
  boost::urls::url url(path);
  boost::system::error_code ec;
  boost::json::value fields = boost::json::parse(json, ec);
  if (ec || !fields.is_object()) {
    return path;
  }
  for (const auto& field : fields.as_object()) {
    const boost::json::string_view key = field.key();
    const boost::json::value& value = field.value();
    auto add = [&](const boost::json::value& item) {
      url.params().append(
          {key, item.is_string() ? std::string(item.as_string()) : boost::json::serialize(item)});
    };
    if (value.is_array()) {
      for (const boost::json::value& item : value.as_array()) {
        add(item);
      }
    } else {
      add(value);
    }
  }
  return std::string(url.buffer());
}

// A google.rpc.Status JSON body as a Status; else a status for the HTTP code.
absl::Status StatusFromHttp(int http_status, const std::string& body) {
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(body, ec);
  if (!ec && json.is_object()) {
    const boost::json::object& object = json.as_object();
    const boost::json::value* code = object.if_contains("code");
    const boost::json::value* message = object.if_contains("message");
    if (code != nullptr && code->is_int64() && message != nullptr && message->is_string()) {
      return absl::Status(static_cast<absl::StatusCode>(code->as_int64()),
                          std::string(message->as_string()));
    }
  }
  const absl::StatusCode code = http_status == 502 || http_status == 503 || http_status == 504
                                    ? absl::StatusCode::kUnavailable
                                    : absl::StatusCode::kUnknown;
  return absl::Status(code, absl::StrCat("HTTP ", http_status));
}

// A request as the HTTP shim's JSON: the JSON mapping, except that a field of
// serialized JSON (AckClientEvent's args_json, EmitWithAck's data_json) goes
// as the JSON it holds (`args`, `data`) instead of base64 bytes, as is, so big
// integers stay exact. Bytes that are not JSON stay bytes: the server says why.
absl::StatusOr<std::string> HttpJson(const protobuf::Message& request) {
  std::unique_ptr<protobuf::Message> rest;
  std::string raw;
  std::string name;
  if (const auto* ack = dynamic_cast<const v1::AckClientEventRequest*>(&request);
      ack != nullptr && ack->answer_case() == v1::AckClientEventRequest::kArgsJson) {
    auto copy = std::make_unique<v1::AckClientEventRequest>(*ack);
    raw = copy->args_json();
    copy->clear_args_json();
    rest = std::move(copy);
    name = "args";
  } else if (const auto* ask = dynamic_cast<const v1::EmitWithAckRequest*>(&request);
             ask != nullptr && ask->payload_case() == v1::EmitWithAckRequest::kDataJson) {
    auto copy = std::make_unique<v1::EmitWithAckRequest>(*ask);
    raw = copy->data_json();
    copy->clear_data_json();
    rest = std::move(copy);
    name = "data";
  }
  boost::system::error_code ec;
  if (rest != nullptr) {
    boost::json::parse(raw, ec);
  }
  const bool splice = rest != nullptr && !ec;
  std::string json;
  if (!protobuf::util::MessageToJsonString(splice ? *rest : request, &json).ok()) {
    return absl::InternalError("cannot encode the request as JSON");
  }
  if (splice && !json.empty() && json.back() == '}') {
    json.pop_back();
    absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"", name, "\":", raw, "}");
  }
  return json;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  absl::StatusOr<std::optional<ClientTls>> tls = ClientTls::Load(options);
  if (!tls.ok()) {
    return tls.status();
  }
  std::shared_ptr<boost::asio::ssl::context> ssl;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (*tls) {
    absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> context = (*tls)->SslContext();
    if (!context.ok()) {
      return context.status();
    }
    ssl = *std::move(context);
    credentials = (*tls)->GrpcCredentials();
  }
  absl::StatusOr<std::unique_ptr<HttpTransport>> http =
      HttpTransport::Create(options.http_url, std::move(ssl));
  if (!http.ok()) {
    return http.status();
  }
  if (!SplitHostPort(options.grpc_target).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ROOMCAST_GRPC_TARGET must look like host:port, got '", options.grpc_target, "'"));
  }
  return std::unique_ptr<Client>(
      new Client(std::move(options), *std::move(http), std::move(credentials)));
}

Client::Client(ClientOptions options, std::unique_ptr<HttpTransport> http,
               std::shared_ptr<grpc::ChannelCredentials> tls)
    : options_(std::move(options)), http_(std::move(http)), tls_(std::move(tls)) {
  std::optional<std::string> target = ReachableTarget(options_.grpc_target);
  channel_ = MakeChannel(target.value_or(options_.grpc_target), options_.grpc_target, tls_);
}

std::shared_ptr<grpc::Channel> Client::UsableChannel() {
  absl::MutexLock lock(&mutex_);
  if (!grpc_down_) {
    return channel_;
  }
  if (channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) {
    grpc_down_ = false;
    ClientLog().info("gRPC at {} reachable again", options_.grpc_target);
    return channel_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < next_probe_) {
    return nullptr;
  }
  // The server may be back, perhaps on the other address family.
  next_probe_ = now + kReprobeEvery;
  std::optional<std::string> target = ReachableTarget(options_.grpc_target);
  if (!target) {
    return nullptr;
  }
  channel_ = MakeChannel(*target, options_.grpc_target, tls_);
  grpc_down_ = false;
  ClientLog().info("gRPC at {} reachable again", options_.grpc_target);
  return channel_;
}

void Client::MarkGrpcDown() {
  absl::MutexLock lock(&mutex_);
  if (!grpc_down_) {
    grpc_down_ = true;
    next_probe_ = std::chrono::steady_clock::now() + kReprobeEvery;
    ClientLog().warn("gRPC at {} unreachable, using the HTTP shim at {}", options_.grpc_target,
                     options_.http_url);
  }
}

std::shared_ptr<grpc::Channel> Client::StreamChannel() {
  if (std::shared_ptr<grpc::Channel> channel = UsableChannel()) {
    return channel;
  }
  absl::MutexLock lock(&mutex_);
  return channel_;
}

absl::Status Client::Call(const std::string& method, const protobuf::Message& request,
                          protobuf::Message& response, const Attempts& attempts) {
  thread_local absl::BitGen gen;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  absl::Status status;
  for (int attempt = 1;; ++attempt) {
    std::shared_ptr<grpc::Channel> channel = UsableChannel();
    if (channel) {
      status = CallGrpc(method, request, response, attempts.deadline);
      last_transport_ = Transport::kGrpc;
      // Unreachable, as opposed to a server that answered UNAVAILABLE.
      if (status.code() == absl::StatusCode::kUnavailable &&
          channel->GetState(false) != GRPC_CHANNEL_READY) {
        MarkGrpcDown();
        channel = nullptr;
      }
    }
    if (!channel) {
      fallbacks_.fetch_add(1, std::memory_order_relaxed);
      status = CallHttp(method, request, response, attempts.deadline);
      last_transport_ = Transport::kHttp;
    }
    if (status.ok() || !Retryable(status.code()) || attempt >= attempts.max_attempts) {
      return status;
    }
    // Full jitter: a random wait up to the current backoff.
    std::this_thread::sleep_for(std::chrono::milliseconds(
        absl::Uniform<int64_t>(gen, backoff.count() / 2, backoff.count() + 1)));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Client::CallGrpc(const std::string& method, const protobuf::Message& request,
                              protobuf::Message& response, std::chrono::milliseconds deadline) {
  std::shared_ptr<grpc::Channel> channel;
  {
    absl::MutexLock lock(&mutex_);
    channel = channel_;
  }
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!options_.api_key.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  grpc::Slice slice(request.SerializeAsString());
  grpc::ByteBuffer request_bytes(&slice, 1);
  grpc::ByteBuffer response_bytes;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, absl::StrCat("/", kService, "/", method), grpc::StubOptions(),
                 &request_bytes, &response_bytes,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response_bytes.Dump(&slices).ok()) {
    for (const grpc::Slice& part : slices) {
      bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
  }
  if (!response.ParseFromString(bytes)) {
    return absl::InternalError("malformed gRPC response");
  }
  return absl::OkStatus();
}

absl::Status Client::CallHttp(const std::string& method, const protobuf::Message& request,
                              protobuf::Message& response, std::chrono::milliseconds deadline) {
  const protobuf::MethodDescriptor* descriptor = FindMethod(method);
  if (descriptor == nullptr) {
    return absl::InternalError(absl::StrCat("unknown method ", method));
  }
  auto [verb, path] = RouteOf(*descriptor);
  absl::StatusOr<std::string> json = HttpJson(request);
  if (!json.ok()) {
    return json.status();
  }
  const std::string target = verb == http::verb::get ? WithQuery(path, *json) : path;
  absl::StatusOr<HttpTransport::Reply> reply =
      http_->Call(verb, target, verb == http::verb::get ? "" : *json, options_.api_key, deadline);
  if (!reply.ok()) {
    return reply.status();
  }
  // Health that is NOT_SERVING is a 503 with a full answer in the body.
  const bool answered =
      (reply->status >= 200 && reply->status < 300) || (method == "Health" && reply->status == 503);
  if (!answered) {
    return StatusFromHttp(reply->status, reply->body);
  }
  protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // A newer server may say more.
  if (!protobuf::util::JsonStringToMessage(reply->body, &response, options).ok()) {
    return absl::InternalError("malformed HTTP shim response");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::EmitResponse> Client::Emit(v1::EmitRequest request) {
  if (request.idempotency_key().empty()) {
    request.set_idempotency_key(NewIdempotencyKey());
  }
  return Invoke<v1::EmitResponse>("Emit", request);
}

absl::StatusOr<v1::EmitBatchResponse> Client::EmitBatch(v1::EmitBatchRequest request) {
  for (v1::EmitRequest& emit : *request.mutable_emits()) {
    if (emit.idempotency_key().empty()) {
      emit.set_idempotency_key(NewIdempotencyKey());
    }
  }
  return Invoke<v1::EmitBatchResponse>("EmitBatch", request);
}

absl::StatusOr<v1::StatusResponse> Client::Status(const v1::StatusRequest& request) {
  return Invoke<v1::StatusResponse>("Status", request);
}

absl::StatusOr<v1::HealthResponse> Client::Health() {
  return Invoke<v1::HealthResponse>("Health", v1::HealthRequest());
}

absl::StatusOr<v1::ChangeRoomsResponse> Client::JoinRooms(const v1::ChangeRoomsRequest& request) {
  return Invoke<v1::ChangeRoomsResponse>("JoinRooms", request);
}

absl::StatusOr<v1::ChangeRoomsResponse> Client::LeaveRooms(const v1::ChangeRoomsRequest& request) {
  return Invoke<v1::ChangeRoomsResponse>("LeaveRooms", request);
}

absl::StatusOr<v1::DisconnectSocketsResponse> Client::DisconnectSockets(
    const v1::DisconnectSocketsRequest& request) {
  return Invoke<v1::DisconnectSocketsResponse>("DisconnectSockets", request);
}

absl::StatusOr<v1::ListRoomSocketsResponse> Client::ListRoomSockets(
    const v1::ListRoomSocketsRequest& request) {
  return Invoke<v1::ListRoomSocketsResponse>("ListRoomSockets", request);
}

absl::StatusOr<v1::HistoryResponse> Client::History(const v1::HistoryRequest& request) {
  return Invoke<v1::HistoryResponse>("History", request);
}

absl::Status Client::Ack(const std::string& id, const std::string& args_json) {
  v1::AckClientEventRequest request;
  request.set_id(id);
  if (!args_json.empty()) {
    request.set_args_json(args_json);
  }
  return Ack(request);
}

absl::Status Client::Ack(const v1::AckClientEventRequest& request) {
  return Invoke<v1::AckClientEventResponse>("AckClientEvent", request).status();
}

absl::StatusOr<v1::EmitWithAckResponse> Client::EmitWithAck(const v1::EmitWithAckRequest& request) {
  const uint32_t wait_ms = request.timeout_ms() == 0
                               ? kDefaultAckWaitMs
                               : std::min<uint32_t>(request.timeout_ms(), kMaxAckWaitMs);
  return Invoke<v1::EmitWithAckResponse>(
      "EmitWithAck", request,
      Attempts{std::chrono::milliseconds(wait_ms) + options_.deadline, /*max_attempts=*/1});
}

std::unique_ptr<ClientEventReceiver> Client::ReceiveClientEvents(
    v1::ReceiveClientEventsRequest request, ClientEventReceiver::EventCallback on_event,
    ClientEventReceiver::StatusCallback on_status, ClientEventReceiver::Options options) {
  return std::make_unique<ClientEventReceiver>([this] { return StreamChannel(); }, options_.api_key,
                                               std::move(request), std::move(on_event),
                                               std::move(on_status), options);
}

}  // namespace roomcast
