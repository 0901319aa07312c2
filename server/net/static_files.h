#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/net/http_types.h"
#include "server/net/router.h"

namespace roomcast::net {

// A directory of files (the Admin UI's build) read into memory once, served
// under a path prefix: only the files found at load time exist, so no
// request names anything outside the directory.
class StaticFiles final : public HttpRoute {
 public:
  struct File {
    std::string body;
    std::string content_type;
    std::string cache_control;
  };

  // Reads every regular file under `dir` (source maps and dot files
  // skipped), served under `prefix` (ending in `/`); `inject` goes into
  // index.html before its first <script>.
  static absl::StatusOr<std::unique_ptr<StaticFiles>> Load(const std::string& dir,
                                                           std::string prefix,
                                                           std::string_view inject);

  void Handle(const std::shared_ptr<HttpConnection>& connection, Request request) override;

  // The answer to a GET or HEAD of `path`, the part after the prefix
  // (empty: index.html).
  Response Serve(const Request& request, std::string_view path) const;

  size_t size() const { return files_.size(); }

  // The Content-Type of a file name, by its extension.
  static std::string_view ContentType(std::string_view name);
  // Bundles whose names carry a content hash (app.0d7d7845.js) never
  // change: cached for a year; index.html always revalidated; the rest an hour.
  static std::string_view CacheControl(std::string_view name);

 private:
  explicit StaticFiles(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string prefix_;
  absl::flat_hash_map<std::string, File> files_;
};

}  // namespace roomcast::net
