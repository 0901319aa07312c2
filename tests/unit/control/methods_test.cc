#include "server/control/methods.h"

#include <set>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "roomcast/v1/roomcast.grpc.pb.h"

namespace roomcast::control {
namespace {

const google::protobuf::ServiceDescriptor& Service() {
  return *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::Roomcast::service_full_name());
}

TEST(MethodsTest, ListsEveryMethodOfTheProtoOnceWithItsTypes) {
  std::set<std::string> listed;
  ForEachMethod([&](const auto& method) {
    using Entry = std::decay_t<decltype(method)>;
    const google::protobuf::MethodDescriptor* proto =
        Service().FindMethodByName(std::string(method.name));
    ASSERT_NE(proto, nullptr) << method.name << " is not in roomcast.v1.Roomcast";
    EXPECT_EQ(proto->input_type(), Entry::Request::descriptor()) << method.name;
    EXPECT_EQ(proto->output_type(), Entry::Response::descriptor()) << method.name;
    EXPECT_FALSE(proto->client_streaming() || proto->server_streaming()) << method.name;
    EXPECT_TRUE(listed.insert(std::string(method.name)).second) << method.name << " twice";
  });
  for (int i = 0; i < Service().method_count(); ++i) {
    const google::protobuf::MethodDescriptor& proto = *Service().method(i);
    // The one stream is served beside the list (grpc_service.cc).
    EXPECT_EQ(listed.contains(proto.name()), !proto.server_streaming())
        << proto.name() << " is in the proto but not in kMethods";
    EXPECT_EQ(proto.server_streaming(), proto.name() == "ReceiveClientEvents") << proto.name();
  }
}

TEST(MethodsTest, OnlyHealthIsOpenWithoutTheKey) {
  ForEachMethod([](const auto& method) {
    EXPECT_EQ(method.access == Access::kOpen, method.name == "Health") << method.name;
  });
}

}  // namespace
}  // namespace roomcast::control
