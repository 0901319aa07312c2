#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
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

// Maps request paths to handlers; immutable once the server runs, so every
// shard reads it without locks.
class Router {
 public:
  using Simple = std::function<Response(const Request&)>;

  explicit Router(size_t body_limit) : body_limit_(body_limit) {}

  void AddPrefix(std::string prefix, HttpRoute& route);
  void AddExact(const std::string& path, HttpRoute& route);
  void AddExact(const std::string& path, Simple handler);

  void Dispatch(const std::shared_ptr<HttpConnection>& connection, Request request) const;
  size_t body_limit() const { return body_limit_; }

 private:
  size_t body_limit_;
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
