// roomcast::Client against real servers: gRPC, the HTTP shim fallback,
// loopback families, retries with idempotency, and the batching emitter.
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "clients/cpp/batching_emitter.h"
#include "clients/cpp/client.h"
#include "server/app/server.h"
#include "server/app/settings.h"
#include "tests/integration/cpp/socketio_listener.h"

namespace roomcast {
namespace {

using boost::asio::ip::tcp;
using std::chrono::milliseconds;

uint16_t FreePort() {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(tcp::v4(), 0));
  return acceptor.local_endpoint().port();
}

std::unique_ptr<app::Server> StartServer(const std::string& host, uint16_t port = 0,
                                         uint16_t grpc_port = 0) {
  app::Config config = app::DefaultConfig();
  config.host = host;
  config.port = port;
  config.grpc_port = grpc_port;
  config.namespaces = {"/"};
  config.shards = 2;
  auto server = std::make_unique<app::Server>(config);
  absl::Status status = server->Start();
  EXPECT_TRUE(status.ok()) << status;
  return status.ok() ? std::move(server) : nullptr;
}

ClientOptions Options(uint16_t grpc_port, uint16_t http_port) {
  ClientOptions options;
  options.grpc_target = "localhost:" + std::to_string(grpc_port);
  options.http_url = "http://localhost:" + std::to_string(http_port);
  options.deadline = milliseconds(2000);
  return options;
}

std::unique_ptr<Client> MakeClient(const ClientOptions& options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

v1::EmitRequest EmitOf(const std::string& room, const std::string& event, const std::string& json) {
  v1::EmitRequest request;
  request.set_room(room);
  request.set_event(event);
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, request.mutable_data()).ok());
  return request;
}

std::string EventLine(const std::string& event, const std::string& json) {
  return R"({"event":")" + event + R"(","args":[)" + json + "]}";
}

TEST(ClientTest, UsesGrpcWhenItIsReachable) {
  auto server = StartServer("::");
  SocketIoListener listener(server->port(), "direct", "hello");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["direct"]})");
  auto client = MakeClient(Options(server->grpc_port(), server->port()));
  absl::StatusOr<v1::EmitResponse> response = client->Emit(EmitOf("direct", "hello", "1"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->recipients(), 1u);
  EXPECT_EQ(client->last_transport(), Client::Transport::kGrpc);
  EXPECT_EQ(client->fallbacks(), 0u);
  EXPECT_EQ(listener.ReadLine(), EventLine("hello", "1"));
}

TEST(ClientTest, FallsBackToTheHttpShimWhenTheGrpcPortIsClosed) {
  auto server = StartServer("::");
  SocketIoListener listener(server->port(), "fallback", "hello");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["fallback"]})");
  auto client = MakeClient(Options(FreePort(), server->port()));
  for (int i = 1; i <= 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<v1::EmitResponse> response =
        client->Emit(EmitOf("fallback", "hello", std::to_string(i)));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(client->last_transport(), Client::Transport::kHttp);
    EXPECT_EQ(client->fallbacks(), static_cast<uint64_t>(i));
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1000))
        << "a known-down gRPC endpoint costs no connect timeout per call";
    EXPECT_EQ(listener.ReadLine(), EventLine("hello", std::to_string(i)));
  }
}

TEST(ClientTest, ServerGoneGivesAClearErrorAfterTheDeadlineWithoutHanging) {
  ClientOptions options = Options(FreePort(), FreePort());
  options.deadline = milliseconds(300);
  options.max_attempts = 3;
  options.initial_backoff = milliseconds(50);
  auto client = MakeClient(options);
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<v1::EmitResponse> response = client->Emit(EmitOf("r", "e", "1"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(5000));
}

TEST(ClientTest, GoesBackToGrpcWhenTheServerReturns) {
  const uint16_t port = FreePort();
  const uint16_t grpc_port = FreePort();
  auto server = StartServer("::", port, grpc_port);
  ClientOptions options = Options(grpc_port, port);
  options.deadline = milliseconds(500);
  options.max_attempts = 1;
  auto client = MakeClient(options);
  ASSERT_TRUE(client->Emit(EmitOf("r", "e", "1")).ok());
  EXPECT_EQ(client->last_transport(), Client::Transport::kGrpc);

  server.reset();
  EXPECT_FALSE(client->Emit(EmitOf("r", "e", "2")).ok());

  server = StartServer("::", port, grpc_port);
  bool back_on_grpc = false;
  for (int i = 0; i < 50 && !back_on_grpc; ++i) {  // Bounded: 50 x 100 ms.
    back_on_grpc = client->Emit(EmitOf("r", "e", "3")).ok() &&
                   client->last_transport() == Client::Transport::kGrpc;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(back_on_grpc);
}

class LoopbackFamilyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LoopbackFamilyTest, LocalhostReachesAServerOnOneFamilyOnly) {
  auto server = StartServer(GetParam());
  ASSERT_NE(server, nullptr);
  auto over_grpc = MakeClient(Options(server->grpc_port(), server->port()));
  ASSERT_TRUE(over_grpc->Emit(EmitOf("r", "e", "1")).ok());
  EXPECT_EQ(over_grpc->last_transport(), Client::Transport::kGrpc);

  auto over_http = MakeClient(Options(FreePort(), server->port()));
  ASSERT_TRUE(over_http->Emit(EmitOf("r", "e", "1")).ok());
  EXPECT_EQ(over_http->last_transport(), Client::Transport::kHttp);
}

INSTANTIATE_TEST_SUITE_P(IPv6AndIPv4, LoopbackFamilyTest, ::testing::Values("::1", "127.0.0.1"));

// Forwards TCP to `upstream`, but for the first request drops the
// connection as soon as the upstream answers: the request arrived, its
// response never does.
class DroppingProxy {
 public:
  explicit DroppingProxy(uint16_t upstream)
      : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        upstream_(upstream) {
    thread_ = std::thread([this] { Run(); });
  }
  ~DroppingProxy() {
    stopping_ = true;
    // close() alone does not wake a thread blocked in accept(); shutdown does.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int dropped() const { return dropped_; }

 private:
  void Run() {
    int requests = 0;
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket client(io_);
      acceptor_.accept(client, ec);
      if (ec) {
        return;
      }
      tcp::socket server(io_);
      server.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), upstream_), ec);
      // One request at a time (the client's keep-alive connection).
      std::array<char, 65536> buffer;
      while (!ec) {
        size_t n = client.read_some(boost::asio::buffer(buffer), ec);
        if (ec) {
          break;
        }
        boost::asio::write(server, boost::asio::buffer(buffer.data(), n), ec);
        n = server.read_some(boost::asio::buffer(buffer), ec);
        if (ec) {
          break;
        }
        if (requests++ == 0) {
          ++dropped_;
          break;  // Close both: the response is lost.
        }
        boost::asio::write(client, boost::asio::buffer(buffer.data(), n), ec);
      }
    }
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t upstream_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> dropped_{0};
  std::thread thread_;
};

TEST(ClientTest, ARetryAfterADroppedResponseDoesNotDeliverTwice) {
  auto server = StartServer("::");
  SocketIoListener listener(server->port(), "once", "charge");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["once"]})");
  DroppingProxy proxy(server->port());
  ClientOptions options = Options(FreePort(), proxy.port());  // gRPC closed: the shim it is.
  options.initial_backoff = milliseconds(20);
  auto client = MakeClient(options);
  absl::StatusOr<v1::EmitResponse> response =
      client->Emit(EmitOf("once", "charge", R"({"cents":500})"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(proxy.dropped(), 1);
  EXPECT_TRUE(response->duplicate()) << "the retry was recognised by its idempotency key";
  EXPECT_EQ(listener.ReadLine(), EventLine("charge", R"({"cents":500})"));
  EXPECT_EQ(listener.ReadLine(milliseconds(500)), "") << "delivered once";
}

TEST(BatchingEmitterTest, ConcurrentProducersEachDeliveredOnceInOrder) {
  auto server = StartServer("::");
  SocketIoListener listener(server->port(), "batched", "tick");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["batched"]})");
  auto client = MakeClient(Options(server->grpc_port(), server->port()));
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50;
  {
    BatchingEmitter emitter(*client,
                            {.max_batch = 16, .max_delay = milliseconds(5), .max_queue = 1000});
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int n = 0; n < kPerProducer; ++n) {
          ASSERT_TRUE(emitter
                          .Emit(EmitOf("batched", "tick",
                                       R"({"p":)" + std::to_string(p) + R"(,"n":)" +
                                           std::to_string(n) + "}"))
                          .ok());
        }
      });
    }
    for (std::thread& producer : producers) {
      producer.join();
    }
    emitter.Flush();
    EXPECT_EQ(emitter.failed(), 0u);
  }
  std::vector<int> next(kProducers, 0);
  for (int i = 0; i < kProducers * kPerProducer; ++i) {
    const std::string line = listener.ReadLine();
    ASSERT_FALSE(line.empty()) << "event " << i << " missing";
    const boost::json::value event = boost::json::parse(line);
    const boost::json::object& data = event.at("args").at(0).as_object();
    const int p = static_cast<int>(data.at("p").to_number<double>());
    const int n = static_cast<int>(data.at("n").to_number<double>());
    EXPECT_EQ(n, next[p]) << "producer " << p << " out of order or duplicated";
    next[p] = n + 1;
  }
  EXPECT_EQ(listener.ReadLine(milliseconds(300)), "");
}

TEST(BatchingEmitterTest, AFullQueueIsAnErrorNotGrowth) {
  ClientOptions options = Options(FreePort(), FreePort());  // Nothing answers: batches stall.
  options.deadline = milliseconds(200);
  options.max_attempts = 1;
  auto client = MakeClient(options);
  BatchingEmitter emitter(*client,
                          {.max_batch = 1000, .max_delay = milliseconds(10000), .max_queue = 3});
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(emitter.Emit(EmitOf("r", "e", "1")).ok());
  }
  EXPECT_EQ(emitter.Emit(EmitOf("r", "e", "1")).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace roomcast
