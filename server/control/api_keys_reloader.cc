#include "server/control/api_keys_reloader.h"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace roomcast::control {
namespace {

absl::StatusOr<std::string> Read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  if (!file) {
    return absl::NotFoundError("cannot read the file");
  }
  return content.str();
}

}  // namespace

ApiKeysReloader::ApiKeysReloader(Options options, auth::ApiKeys& keys, TimerThread& timers,
                                 base::Counters& counters)
    : options_(std::move(options)), keys_(keys), timers_(timers), counters_(counters) {}

void ApiKeysReloader::Start() {
  if (absl::StatusOr<std::string> text = Read(options_.path); text.ok()) {
    contents_ = *std::move(text);
  }
  Poll();  // The file may have changed since the config read it.
  Schedule();
}

void ApiKeysReloader::Schedule() {
  timers_.RunAt(TimerThread::Clock::now() + options_.interval, [this] {
    Poll();
    Schedule();
  });
}

void ApiKeysReloader::Poll() {
  absl::StatusOr<std::string> text = Read(options_.path);
  if (text.ok() && *text == contents_) {
    last_error_.clear();  // Back to the keys in force.
    return;
  }
  absl::Status status = text.status();
  std::vector<std::string> names;
  if (text.ok()) {
    absl::StatusOr<std::vector<auth::NamedKey>> file_keys = auth::ParseKeysFile(*text);
    status = file_keys.status();
    if (file_keys.ok()) {
      std::vector<auth::NamedKey> keys = options_.fixed;
      keys.insert(keys.end(), file_keys->begin(), file_keys->end());
      for (const auth::NamedKey& key : keys) {
        names.push_back(key.name);
      }
      status = keys_.Replace(std::move(keys));
    }
  }
  if (status.ok()) {
    contents_ = *std::move(text);
    last_error_.clear();
    base::Counters::Bump(counters_.api_keys_reloads);
    spdlog::info("auth: api keys reloaded file={} keys={} names={}", options_.path, names.size(),
                 absl::StrJoin(names, ","));
    return;
  }
  const std::string error(status.message());
  if (error != last_error_) {
    // Counted once per bad version of the file, not once per poll.
    last_error_ = error;
    base::Counters::Bump(counters_.api_keys_reload_failures);
    spdlog::warn("auth: api keys file refused, the old keys stay file={} error=\"{}\"",
                 options_.path, error);
  }
}

}  // namespace roomcast::control
