#pragma once

#include <spdlog/logger.h>

namespace roomcast {

// The client library's logger, on stderr: a program's stdout stays its own.
spdlog::logger& ClientLog();

}  // namespace roomcast
