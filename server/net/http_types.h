#pragma once

#include <optional>
#include <string_view>

#include <boost/beast/http.hpp>

namespace roomcast::net {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// A response with a body; keep-alive follows the request.
Response MakeResponse(const Request& request, http::status status, std::string body,
                      std::string_view content_type);
// A `{"code":N,"message":"..."}` style JSON error.
Response JsonResponse(const Request& request, http::status status, std::string json);

std::optional<std::string_view> HeaderValue(const Request& request, http::field field);
std::optional<std::string_view> HeaderValue(const Request& request, std::string_view name);

}  // namespace roomcast::net
