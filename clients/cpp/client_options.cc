#include "clients/cpp/client_options.h"

#include <cstdlib>

namespace roomcast {
namespace {

void Read(const char* name, std::string& into) {
  if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
    into = value;
  }
}

}  // namespace

ClientOptions ClientOptions::FromEnvironment() {
  ClientOptions options;
  Read("ROOMCAST_GRPC_TARGET", options.grpc_target);
  Read("INTERNAL_API_URL", options.http_url);
  Read("INTERNAL_API_KEY", options.api_key);
  Read("SOCKET_SERVER_URL", options.socket_url);
  Read("ROOMCAST_TOKEN", options.token);
  return options;
}

}  // namespace roomcast
