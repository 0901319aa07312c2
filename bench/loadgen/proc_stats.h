#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace roomcast::bench {

// What /proc says of another process: CPU (user + system, all threads) and
// resident memory. Zero when there is no such process.
struct ProcSample {
  double cpu_s = 0;
  int64_t rss_kb = 0;
};

ProcSample SampleProcess(pid_t pid);

// Several processes (the nodes of a cluster and its Redis): each one's
// sample, in the order of `pids`, and their sum (CPU and RSS added up).
struct ProcGroupSample {
  ProcSample total;
  std::vector<ProcSample> each;
};

ProcGroupSample SampleProcesses(const std::vector<pid_t>& pids);

// This process's own CPU (user + system), from getrusage.
double OwnCpuSeconds();

}  // namespace roomcast::bench
