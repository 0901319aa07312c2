// Emits one event to a room, configured from the environment
// (ROOMCAST_GRPC_TARGET, INTERNAL_API_URL, INTERNAL_API_KEY):
//   emit_example orders order.created '{"id":42}'
#include <cstdio>

#include <google/protobuf/util/json_util.h>

#include "clients/cpp/client.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s ROOM EVENT JSON\n", argv[0]);
    return 2;
  }
  auto client = roomcast::Client::FromEnvironment();
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 2;
  }
  roomcast::v1::EmitRequest request;
  request.set_room(argv[1]);
  request.set_event(argv[2]);
  if (!google::protobuf::util::JsonStringToMessage(argv[3], request.mutable_data()).ok()) {
    std::fprintf(stderr, "not JSON: %s\n", argv[3]);
    return 2;
  }
  absl::StatusOr<roomcast::v1::EmitResponse> response = (*client)->Emit(request);
  if (!response.ok()) {
    std::fprintf(stderr, "emit failed: %s\n", response.status().ToString().c_str());
    return 1;
  }
  std::printf("delivered to %llu sockets, offset %llu in epoch %s\n",
              static_cast<unsigned long long>(response->recipients()),
              static_cast<unsigned long long>(response->offset()), response->epoch().c_str());
  return 0;
}
