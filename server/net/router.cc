#include "server/net/router.h"
#include "server/base/string_view.h"

#include "server/net/http_connection.h"

namespace roomcast::net {

void Router::AddPrefix(std::string prefix, HttpRoute& route) {
  prefixes_.emplace_back(std::move(prefix), &route);
}

void Router::AddExact(const std::string& path, HttpRoute& route) { exact_[path] = &route; }

void Router::AddExact(const std::string& path, Simple handler) {
  simple_routes_.push_back(std::make_unique<SimpleRoute>(std::move(handler)));
  AddExact(path, *simple_routes_.back());
}

void Router::SimpleRoute::Handle(const std::shared_ptr<HttpConnection>& connection,
                                 Request request) {
  connection->Reply(handler_(request));
}

void Router::Dispatch(const std::shared_ptr<HttpConnection>& connection, Request request) const {
  std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  // Exact paths first: "/admin" redirects to the "/admin/" prefix's files.
  if (auto it = exact_.find(ToAbsl(path)); it != exact_.end()) {
    it->second->Handle(connection, std::move(request));
    return;
  }
  for (const auto& [prefix, route] : prefixes_) {
    // "/socket.io" without the slash is the same endpoint.
    if (path.starts_with(prefix) || path == std::string_view(prefix).substr(0, prefix.size() - 1)) {
      route->Handle(connection, std::move(request));
      return;
    }
  }
  connection->Reply(JsonResponse(request, http::status::not_found,
                                 R"({"code":5,"message":"no such route","details":[]})"));
}

}  // namespace roomcast::net
