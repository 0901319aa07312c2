#include "server/net/http_types.h"

namespace roomcast::net {

Response MakeResponse(const Request& request, http::status status, std::string body,
                      std::string_view content_type) {
  Response response(status, request.version());
  response.set(http::field::content_type, content_type);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response JsonResponse(const Request& request, http::status status, std::string json) {
  return MakeResponse(request, status, std::move(json), "application/json");
}

namespace {

template <typename Key>
std::optional<std::string_view> Find(const Request& request, Key key) {
  auto it = request.find(key);
  if (it == request.end()) {
    return std::nullopt;
  }
  return std::string_view(it->value().data(), it->value().size());
}

}  // namespace

std::optional<std::string_view> HeaderValue(const Request& request, http::field field) {
  return Find(request, field);
}

std::optional<std::string_view> HeaderValue(const Request& request, std::string_view name) {
  return Find(request, boost::beast::string_view(name.data(), name.size()));
}

}  // namespace roomcast::net
