#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/base/counters.h"
#include "server/net/http_types.h"

namespace roomcast::net {

class HttpConnection;

// Something that answers requests under a path prefix and may hold them
// (long-polling) or take the connection over (WebSocket).
class HttpRoute {
 public:
  virtual ~HttpRoute() = default;
  virtual void Handle(const std::shared_ptr<HttpConnection>& connection, Request request) = 0;
};

// How every connection reads its requests, and where it counts the
// connections the deadlines cut off.
struct HttpRules {
  size_t body_limit = 1 << 20;
  // From a connection's accept, or a request's first byte, until its
  // headers are in: slow senders (slowloris) are cut off here.
  std::chrono::milliseconds header_timeout{10000};
  // A kept-alive connection with no request in progress; also the time
  // a request's body may take.
  std::chrono::milliseconds idle_timeout{60000};
  base::Counters* counters = nullptr;
};

// Maps request paths to handlers; immutable once the server runs, so every
// shard reads it without locks. It carries the HTTP rules too.
class Router {
 public:
  using Simple = std::function<Response(const Request&)>;

  explicit Router(HttpRules rules) : rules_(rules) {}

  void AddPrefix(std::string prefix, HttpRoute& route);
  void AddExact(const std::string& path, HttpRoute& route);
  void AddExact(const std::string& path, Simple handler);

  void Dispatch(const std::shared_ptr<HttpConnection>& connection, Request request) const;
  const HttpRules& rules() const { return rules_; }

 private:
  HttpRules rules_;
  // A Simple handler as a route.
  class SimpleRoute final : public HttpRoute {
   public:
    explicit SimpleRoute(Simple handler) : handler_(std::move(handler)) {}
    void Handle(const std::shared_ptr<HttpConnection>& connection, Request request) override;

   private:
    Simple handler_;
  };

  std::vector<std::pair<std::string, HttpRoute*>> prefixes_;
  absl::flat_hash_map<std::string, HttpRoute*> exact_;
  std::vector<std::unique_ptr<SimpleRoute>> simple_routes_;
};

}  // namespace roomcast::net
