#include "clients/cpp/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace roomcast {

spdlog::logger& ClientLog() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("roomcast-client");
    return existing ? existing : spdlog::stderr_logger_mt("roomcast-client");
  }();
  return *logger;
}

}  // namespace roomcast
