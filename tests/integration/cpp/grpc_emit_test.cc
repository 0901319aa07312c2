// The control plane from a C++ gRPC client, delivered to a real
// socket.io-client (Node.js) in a room.

#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "roomcast/v1/roomcast.grpc.pb.h"
#include "server/app/server.h"
#include "server/app/settings.h"
#include "tests/integration/cpp/socketio_listener.h"

namespace roomcast {
namespace {

namespace v1 = ::roomcast::v1;

class GrpcEmitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    app::Config config = app::DefaultConfig();
    config.host = "::";
    config.port = 0;
    config.grpc_port = 0;
    config.namespaces = {"/"};
    config.shards = 2;
    config.internal_api_key = "test-key";
    server_ = new app::Server(config);
    ASSERT_TRUE(server_->Start().ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::unique_ptr<v1::Roomcast::Stub> Stub() {
    return v1::Roomcast::NewStub(grpc::CreateChannel(
        "localhost:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  }
  static void Authorize(grpc::ClientContext& context) {
    context.AddMetadata("authorization", "Bearer test-key");
  }
  static v1::EmitRequest EmitOf(std::string room, std::string event, std::string data_json) {
    v1::EmitRequest request;
    request.add_rooms(std::move(room));
    request.set_event(std::move(event));
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(data_json, request.mutable_data()).ok());
    return request;
  }

  static app::Server* server_;
};

app::Server* GrpcEmitTest::server_ = nullptr;

TEST_F(GrpcEmitTest, EmitReachesASocketIoClientInTheRoomExactlyAsSent) {
  SocketIoListener listener(server_->port(), "orders", "order.created");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["orders"]})");

  const std::string data =
      R"({"id":42,"name":"Zoë ☕","tags":["a","b"],"nested":{"ok":true,"none":null},"price":12.5})";
  v1::EmitRequest request = EmitOf("orders", "order.created", data);
  v1::EmitResponse response;
  grpc::ClientContext context;
  Authorize(context);
  grpc::Status status = Stub()->Emit(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.recipients(), 1u);
  EXPECT_GT(response.offset(), 0u);
  // google.protobuf.Value is a map: key order is not kept, every value is.
  EXPECT_EQ(boost::json::parse(listener.ReadLine()),
            boost::json::parse(R"({"event":"order.created","args":[)" + data + "]}"));
}

TEST_F(GrpcEmitTest, DataJsonIsSentAsIs) {
  SocketIoListener listener(server_->port(), "raw", "raw.event");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["raw"]})");
  v1::EmitRequest request;
  request.add_rooms("raw");
  request.set_event("raw.event");
  // Key order is what a google.protobuf.Value (a map) would not keep, and
  // what JavaScript's JSON.parse does keep: so it shows the bytes went as is.
  request.set_data_json(R"({"zeta":1,"alpha":[1,2,3],"mid":{"y":true,"b":null}})");
  v1::EmitResponse response;
  grpc::ClientContext context;
  Authorize(context);
  ASSERT_TRUE(Stub()->Emit(&context, request, &response).ok());
  EXPECT_EQ(
      listener.ReadLine(),
      R"({"event":"raw.event","args":[{"zeta":1,"alpha":[1,2,3],"mid":{"y":true,"b":null}}]})");
}

TEST_F(GrpcEmitTest, EmitBatchKeepsOrderAndReportsEachItem) {
  SocketIoListener listener(server_->port(), "batch", "step");
  ASSERT_EQ(listener.ReadLine(), R"(joined {"ok":true,"rooms":["batch"]})");
  v1::EmitBatchRequest request;
  for (int i = 0; i < 20; ++i) {
    *request.add_emits() = EmitOf("batch", "step", std::to_string(i));
  }
  request.add_emits()->set_event("");  // Invalid: reported, the rest still applied.
  v1::EmitBatchResponse response;
  grpc::ClientContext context;
  Authorize(context);
  ASSERT_TRUE(Stub()->EmitBatch(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 21);
  EXPECT_EQ(response.results(20).error().code(), "INVALID_ARGUMENT");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(response.results(i).emitted().recipients(), 1u);
    EXPECT_EQ(listener.ReadLine(), R"({"event":"step","args":[)" + std::to_string(i) + "]}");
  }
}

TEST_F(GrpcEmitTest, ExceptRoomsAndNamespaceWideEmits) {
  SocketIoListener kept(server_->port(), "everyone", "notice");
  SocketIoListener skipped(server_->port(), "everyone,muted", "notice");
  ASSERT_EQ(kept.ReadLine(), R"(joined {"ok":true,"rooms":["everyone"]})");
  ASSERT_EQ(skipped.ReadLine(), R"(joined {"ok":true,"rooms":["everyone","muted"]})");
  v1::EmitRequest request = EmitOf("everyone", "notice", R"("first")");
  request.add_except_rooms("muted");
  v1::EmitResponse response;
  {
    grpc::ClientContext context;
    Authorize(context);
    ASSERT_TRUE(Stub()->Emit(&context, request, &response).ok());
  }
  EXPECT_EQ(response.recipients(), 1u);
  request.clear_rooms();
  request.clear_except_rooms();
  request.mutable_data()->set_string_value("second");
  {
    grpc::ClientContext context;
    Authorize(context);
    ASSERT_TRUE(Stub()->Emit(&context, request, &response).ok());
  }
  EXPECT_GE(response.recipients(), 2u);
  EXPECT_EQ(kept.ReadLine(), R"({"event":"notice","args":["first"]})");
  EXPECT_EQ(kept.ReadLine(), R"({"event":"notice","args":["second"]})");
  EXPECT_EQ(skipped.ReadLine(), R"({"event":"notice","args":["second"]})");
}

TEST_F(GrpcEmitTest, WithoutTheKeyCallsAreUnauthenticatedButHealthIsOpen) {
  v1::EmitResponse response;
  grpc::ClientContext no_key;
  EXPECT_EQ(Stub()->Emit(&no_key, EmitOf("r", "e", "1"), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext wrong_key;
  wrong_key.AddMetadata("x-api-key", "test-kez");
  EXPECT_EQ(Stub()->Emit(&wrong_key, EmitOf("r", "e", "1"), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext x_api_key;
  x_api_key.AddMetadata("x-api-key", "test-key");
  EXPECT_TRUE(Stub()->Emit(&x_api_key, EmitOf("r", "e", "1"), &response).ok());

  v1::HealthResponse health;
  grpc::ClientContext open;
  ASSERT_TRUE(Stub()->Health(&open, v1::HealthRequest(), &health).ok());
  EXPECT_EQ(health.status(), v1::SERVING);
}

TEST_F(GrpcEmitTest, InvalidRequestsAreInvalidArgument) {
  v1::EmitResponse response;
  grpc::ClientContext context;
  Authorize(context);
  v1::EmitRequest request = EmitOf("r", "", "1");
  EXPECT_EQ(Stub()->Emit(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext bad_json;
  Authorize(bad_json);
  request.set_event("e");
  request.set_data_json("{not json");
  EXPECT_EQ(Stub()->Emit(&bad_json, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace roomcast
