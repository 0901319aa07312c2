#include "clients/cpp/client_options.h"

#include <cstdlib>

#include "absl/strings/match.h"

namespace roomcast {
namespace {

void Read(const char* name, std::string& into) {
  if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
    into = value;
  }
}

}  // namespace

bool ClientOptions::UsesTls() const {
  return !ca_file.empty() || !client_cert_file.empty() ||
         absl::StartsWithIgnoreCase(http_url, "https://") ||
         absl::StartsWithIgnoreCase(socket_url, "https://");
}

ClientOptions ClientOptions::FromEnvironment() {
  ClientOptions options;
  Read("ROOMCAST_CA_FILE", options.ca_file);
  Read("ROOMCAST_CLIENT_CERT_FILE", options.client_cert_file);
  Read("ROOMCAST_CLIENT_KEY_FILE", options.client_key_file);
  if (options.UsesTls()) {
    options.http_url = "https://localhost:3001";
    options.socket_url = "https://localhost:3001";
  }
  Read("ROOMCAST_GRPC_TARGET", options.grpc_target);
  Read("INTERNAL_API_URL", options.http_url);
  Read("INTERNAL_API_KEY", options.api_key);
  Read("SOCKET_SERVER_URL", options.socket_url);
  Read("ROOMCAST_TOKEN", options.token);
  return options;
}

}  // namespace roomcast
