#include "bench/loadgen/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace roomcast::bench {

namespace {

double TicksToSeconds(int64_t ticks) {
  static const double kTicksPerSecond = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(ticks) / kTicksPerSecond;
}

}  // namespace

ProcSample SampleProcess(pid_t pid) {
  ProcSample sample;
  if (pid <= 0) {
    return sample;
  }
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat(base + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // The command name may hold spaces: the fields we want follow its ')'.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string field;
    int64_t utime = 0, stime = 0;
    // Fields 3..13 come first; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 13; ++i) fields >> field;
    fields >> utime >> stime;
    sample.cpu_s = TicksToSeconds(utime + stime);
  }
  std::ifstream status(base + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      sample.rss_kb = std::stoll(line.substr(6));
    }
  }
  return sample;
}

ProcGroupSample SampleProcesses(const std::vector<pid_t>& pids) {
  ProcGroupSample group;
  group.each.reserve(pids.size());
  for (pid_t pid : pids) {
    group.each.push_back(SampleProcess(pid));
    group.total.cpu_s += group.each.back().cpu_s;
    group.total.rss_kb += group.each.back().rss_kb;
  }
  return group;
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace roomcast::bench
