#pragma once

#include <sys/types.h>

#include <cstdint>

namespace roomcast::bench {

// What /proc says of another process: CPU (user + system, all threads) and
// resident memory. Zero when there is no such process.
struct ProcSample {
  double cpu_s = 0;
  int64_t rss_kb = 0;
};

ProcSample SampleProcess(pid_t pid);

// This process's own CPU (user + system), from getrusage.
double OwnCpuSeconds();

}  // namespace roomcast::bench
