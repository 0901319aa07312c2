#pragma once

#include <chrono>
#include <string>

namespace roomcast {

// Where and how a service reaches Roomcast. FromEnvironment() reads the
// variables the existing deployment uses.
struct ClientOptions {
  std::string grpc_target = "localhost:50051";       // ROOMCAST_GRPC_TARGET
  std::string http_url = "http://localhost:3001";    // INTERNAL_API_URL (the HTTP shim)
  std::string api_key;                               // INTERNAL_API_KEY
  std::string socket_url = "http://localhost:3001";  // SOCKET_SERVER_URL (for `tail`)
  std::string token;                                 // ROOMCAST_TOKEN (browser auth, for `tail`)

  // TLS, for both ports as roomcastd serves them: on when any file is set or
  // a URL is https:// (then an http:// URL is refused, never fallen back to).
  std::string ca_file;           // ROOMCAST_CA_FILE (PEM; else the system's roots)
  std::string client_cert_file;  // ROOMCAST_CLIENT_CERT_FILE (mTLS on gRPC)
  std::string client_key_file;   // ROOMCAST_CLIENT_KEY_FILE

  std::chrono::milliseconds deadline{5000};  // Per attempt.
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};

  bool UsesTls() const;

  // With TLS files set, the URLs left unset default to https://.
  static ClientOptions FromEnvironment();
};

}  // namespace roomcast
