#include "server/app/file_budget.h"

#include <sys/resource.h>

#include <algorithm>

namespace roomcast::app {

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 1024;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : limit.rlim_cur;
}

FileBudget FileBudget::For(uint64_t open_files, bool tls) {
  const uint64_t reserve = std::min(open_files / 2, std::max<uint64_t>(1000, open_files / 20));
  const uint64_t per_connection = tls ? 3 : 1;
  const uint64_t sessions = (open_files - reserve) / per_connection;
  return FileBudget{
      static_cast<size_t>(std::max<uint64_t>(1, sessions)),
      static_cast<size_t>(std::max<uint64_t>(1, sessions + reserve / 2 / per_connection))};
}

}  // namespace roomcast::app
