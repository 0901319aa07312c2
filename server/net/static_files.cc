#include "server/net/static_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/base/string_view.h"
#include "server/net/http_connection.h"

namespace roomcast::net {
namespace {

constexpr std::string_view kIndex = "index.html";

std::string_view Extension(std::string_view name) {
  const size_t slash = name.rfind('/');
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return {};
  }
  return name.substr(dot + 1);
}

// `app.0d7d7845.js`: a part of 8+ hex digits between dots.
bool HasContentHash(std::string_view name) {
  const size_t slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  size_t start = base.find('.');
  while (start != std::string_view::npos) {
    const size_t end = base.find('.', start + 1);
    if (end == std::string_view::npos) {
      return false;
    }
    const std::string_view part = base.substr(start + 1, end - start - 1);
    if (part.size() >= 8 && std::all_of(part.begin(), part.end(), [](char c) {
          return absl::ascii_isxdigit(static_cast<unsigned char>(c));
        })) {
      return true;
    }
    start = end;
  }
  return false;
}

}  // namespace

std::string_view StaticFiles::ContentType(std::string_view name) {
  const std::string ext = absl::AsciiStrToLower(ToAbsl(Extension(name)));
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "woff") return "font/woff";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::string_view StaticFiles::CacheControl(std::string_view name) {
  if (name == kIndex) {
    return "no-cache";
  }
  return HasContentHash(name) ? "public, max-age=31536000, immutable" : "public, max-age=3600";
}

absl::StatusOr<std::unique_ptr<StaticFiles>> StaticFiles::Load(const std::string& dir,
                                                               std::string prefix,
                                                               std::string_view inject) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("not a directory: ", dir));
  }
  std::unique_ptr<StaticFiles> loaded(new StaticFiles(std::move(prefix)));
  StaticFiles& files = *loaded;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string name = fs::relative(it->path(), dir, error).generic_string();
    if (!it->is_regular_file() || name.starts_with('.') || name.find("/.") != std::string::npos ||
        name.ends_with(".map")) {
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    if (!in) {
      return absl::UnavailableError(absl::StrCat("cannot read ", it->path().string()));
    }
    files.files_[name] =
        File{body.str(), std::string(ContentType(name)), std::string(CacheControl(name))};
  }
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot list ", dir, ": ", error.message()));
  }
  auto index = files.files_.find(ToAbsl(kIndex));
  if (index == files.files_.end()) {
    return absl::NotFoundError(absl::StrCat("no index.html in ", dir));
  }
  if (!inject.empty()) {
    std::string& html = index->second.body;
    const size_t at = html.find("<script");
    html.insert(at == std::string::npos ? html.size() : at, inject);
  }
  return loaded;
}

void StaticFiles::Handle(const std::shared_ptr<HttpConnection>& connection, Request request) {
  std::string_view target(request.target().data(), request.target().size());
  target.remove_prefix(std::min(target.size(), prefix_.size()));  // The router matched it.
  connection->Reply(Serve(request, target));
}

Response StaticFiles::Serve(const Request& request, std::string_view path) const {
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    Response response = MakeResponse(request, http::status::method_not_allowed,
                                     "only GET and HEAD\n", "text/plain; charset=utf-8");
    response.set(http::field::allow, "GET, HEAD");
    return response;
  }
  path = path.substr(0, path.find_first_of("?#"));
  auto it = files_.find(ToAbsl(path.empty() ? kIndex : path));
  if (it == files_.end()) {
    return MakeResponse(request, http::status::not_found, "not found\n",
                        "text/plain; charset=utf-8");
  }
  Response response =
      MakeResponse(request, http::status::ok, it->second.body, it->second.content_type);
  response.set(http::field::cache_control, it->second.cache_control);
  response.set("X-Content-Type-Options", "nosniff");
  if (request.method() == http::verb::head) {
    const size_t length = response.body().size();
    response.body().clear();
    response.content_length(length);
  }
  return response;
}

}  // namespace roomcast::net
