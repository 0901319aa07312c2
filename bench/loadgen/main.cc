// roomcast-loadgen: Socket.IO clients on one side, an emitter on the other,
// and the books in between; or (--emit=client) the clients emitting events
// with an ack callback and the books of the answers. See bench/README.md.
#include <arpa/inet.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>
#include <absl/flags/usage.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <boost/json.hpp>

#include "bench/loadgen/client_event_plan.h"
#include "bench/loadgen/client_fleet.h"
#include "bench/loadgen/emit_plan.h"
#include "bench/loadgen/grpc_emitter.h"
#include "bench/loadgen/http_emitter.h"
#include "bench/loadgen/ledger.h"
#include "bench/loadgen/proc_stats.h"
#include "bench/loadgen/target.h"

ABSL_FLAG(std::string, target, "127.0.0.1:3001",
          "Server address (IPv4 literal:port): Socket.IO and HTTP emits. A comma-separated "
          "list for a cluster: client i connects to target i % n, HTTP emitter connection j "
          "posts to target j % n.");
ABSL_FLAG(std::string, grpc_target, "127.0.0.1:50051",
          "Roomcast gRPC address for --emit=grpc|batch.");
ABSL_FLAG(std::string, server_pid, "",
          "The server's pid: its CPU and RSS are read from /proc. A comma-separated list "
          "(a cluster's nodes and its Redis): every figure sums their CPU and their RSS.");
ABSL_FLAG(int, connections, 100, "Socket.IO clients.");
ABSL_FLAG(int, rooms, 1, "Client i joins room-<i % rooms>.");
ABSL_FLAG(int, sources, 1, "Source addresses 127.0.0.1 .. 127.0.0.<sources>.");
ABSL_FLAG(int, connect_concurrency, 256, "Handshakes in flight at once.");
ABSL_FLAG(double, slow_fraction, 0, "Fraction of clients that never read once joined.");
ABSL_FLAG(std::string, emit, "http",
          "none|http|grpc|batch, or client: the clients emit --client_event with an ack "
          "callback (browser -> service) and time each round trip.");
ABSL_FLAG(std::string, client_event, "bench:ask", "--emit=client: the event's name.");
ABSL_FLAG(bool, client_ack, true,
          "--emit=client: with an ack callback; false: none, flat out (the service counts what "
          "arrives).");
ABSL_FLAG(bool, broadcast, false, "Emit to the whole namespace instead of one room each.");
ABSL_FLAG(double, emit_rate, 0,
          "Emits (--emit=client: client events) per second; 0 = flat out (bounded by "
          "--max_undelivered).");
ABSL_FLAG(int, emit_concurrency, 16, "HTTP connections or gRPC caller threads.");
ABSL_FLAG(int, calls_in_flight, 1, "--emit=grpc: unary calls each caller thread keeps in flight.");
ABSL_FLAG(int, batch_size, 100, "Events per EmitBatch call.");
ABSL_FLAG(int64_t, max_undelivered, 100000,
          "Flat out: no new emit while more deliveries (--emit=client: acks) are owed.");
ABSL_FLAG(int, payload_bytes, 150, "Approximate size of one event's Socket.IO frame.");
ABSL_FLAG(double, duration_s, 10, "Measurement window.");
ABSL_FLAG(double, idle_s, 5, "--emit=none: how long the connections sit idle.");
ABSL_FLAG(double, drain_s, 2, "After the window: how long to wait for owed deliveries.");
ABSL_FLAG(double, connect_timeout_s, 120, "Give up connecting after this long.");

namespace roomcast::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool ParseTarget(const std::string& text, sockaddr_in& address) {
  size_t colon = text.rfind(':');
  int port = 0;
  address.sin_family = AF_INET;
  return colon != std::string::npos && absl::SimpleAtoi(text.substr(colon + 1), &port) &&
         inet_pton(AF_INET, text.substr(0, colon).c_str(), &address.sin_addr) == 1 &&
         (address.sin_port = htons(static_cast<uint16_t>(port)), true);
}

// "host:port[,host:port...]"; false (and a message) on anything else.
bool ParseTargets(const std::string& text, std::vector<Target>& targets) {
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    Target target;
    target.host_header = std::string(item);
    if (!ParseTarget(target.host_header, target.address)) {
      std::cerr << "--target must be IPv4 literals with a port, comma-separated: " << text << "\n";
      return false;
    }
    targets.push_back(std::move(target));
  }
  return true;
}

// "" (no server to watch) or "pid[,pid...]".
bool ParsePids(const std::string& text, std::vector<pid_t>& pids) {
  if (text.empty()) return true;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    int pid = 0;
    if (!absl::SimpleAtoi(item, &pid) || pid < 0) {
      std::cerr << "--server_pid must be pids, comma-separated: " << text << "\n";
      return false;
    }
    pids.push_back(pid);
  }
  return true;
}

// Per process of --server_pid, in its order: what the totals are made of.
boost::json::array PerProcess(const std::vector<pid_t>& pids, const ProcGroupSample& before,
                              const ProcGroupSample& connected, const ProcGroupSample& measured,
                              const ProcGroupSample& ended, bool idle) {
  boost::json::array out;
  for (size_t i = 0; i < pids.size(); ++i) {
    boost::json::object process;
    process["pid"] = pids[i];
    process["rss_before_kb"] = before.each[i].rss_kb;
    process["rss_connected_kb"] = (idle ? measured : connected).each[i].rss_kb;
    process["rss_after_kb"] = ended.each[i].rss_kb;
    process["cpu_connect_s"] = connected.each[i].cpu_s - before.each[i].cpu_s;
    if (idle) process["cpu_idle_s"] = measured.each[i].cpu_s - connected.each[i].cpu_s;
    process["cpu_measure_s"] = ended.each[i].cpu_s - measured.each[i].cpu_s;
    out.push_back(std::move(process));
  }
  return out;
}

void RaiseOpenFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

int Run() {
  RaiseOpenFileLimit();
  FleetOptions fleet_options;
  const std::string target = absl::GetFlag(FLAGS_target);
  if (!ParseTargets(target, fleet_options.targets)) return 1;
  std::vector<pid_t> server_pids;
  if (!ParsePids(absl::GetFlag(FLAGS_server_pid), server_pids)) return 1;
  const std::string emit = absl::GetFlag(FLAGS_emit);
  if (emit != "none" && emit != "http" && emit != "grpc" && emit != "batch" && emit != "client") {
    std::cerr << "--emit must be none, http, grpc, batch or client\n";
    return 1;
  }
  const bool client_events = emit == "client";
  fleet_options.connections = absl::GetFlag(FLAGS_connections);
  fleet_options.rooms = std::max(1, absl::GetFlag(FLAGS_rooms));
  fleet_options.sources = std::max(1, absl::GetFlag(FLAGS_sources));
  fleet_options.slow_fraction = absl::GetFlag(FLAGS_slow_fraction);
  fleet_options.broadcast = absl::GetFlag(FLAGS_broadcast);
  fleet_options.connect_concurrency = absl::GetFlag(FLAGS_connect_concurrency);
  const int streams = fleet_options.broadcast ? 1 : fleet_options.rooms;

  // Events of one stream can arrive out of order by as many as are in
  // flight at once: size each client's duplicate window for that. Client
  // events: each socket's asks are a stream of their own.
  const int64_t max_undelivered = absl::GetFlag(FLAGS_max_undelivered);
  const int64_t in_flight_per_client =
      client_events ? max_undelivered / std::max(1, fleet_options.connections)
                    : max_undelivered / std::max(1, fleet_options.connections / streams);
  Ledger ledger(
      client_events ? fleet_options.connections : streams, fleet_options.connections,
      static_cast<uint64_t>(std::clamp<int64_t>(2 * in_flight_per_client, 1024, 1 << 20)));
  ClientFleet fleet(fleet_options, ledger);
  boost::json::object out;
  boost::json::object server_out;

  // Connect and join.
  const ProcGroupSample before = SampleProcesses(server_pids);
  Clock::time_point connect_start = Clock::now();
  fleet.Start();
  while (!fleet.settled() && SecondsSince(connect_start) < absl::GetFlag(FLAGS_connect_timeout_s)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double connect_seconds = SecondsSince(connect_start);
  const ProcGroupSample connected = SampleProcesses(server_pids);
  std::cerr << "joined " << fleet.joined() << "/" << fleet_options.connections << " in "
            << connect_seconds << " s (" << fleet.failed() << " failed)\n";
  out["connections"] = fleet_options.connections;
  out["connected"] = fleet.joined();
  out["connect_failures"] = fleet.failed();
  out["connect_seconds"] = connect_seconds;
  out["connects_per_s"] = fleet.joined() / connect_seconds;
  server_out["rss_before_kb"] = before.total.rss_kb;
  server_out["cpu_connect_s"] = connected.total.cpu_s - before.total.cpu_s;
  if (fleet.joined() == 0) {
    std::cerr << "no client could join: is the server up at " << target << "?\n";
    return 1;
  }

  int64_t emitted = 0, errors = 0;
  double window_seconds = 0, measure_seconds = 0, own_cpu = 0;
  // Declared here: the fleet's thread uses it until fleet.Stop().
  std::unique_ptr<ClientEventPlan> client_plan;
  ProcGroupSample measured = connected, ended = connected;
  if (emit == "none") {
    std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_idle_s)));
    measured = ended = SampleProcesses(server_pids);
    server_out["cpu_idle_s"] = measured.total.cpu_s - connected.total.cpu_s;
    server_out["rss_connected_kb"] = measured.total.rss_kb;
  } else {
    server_out["rss_connected_kb"] = connected.total.rss_kb;
    EmitSettings settings;
    settings.broadcast = fleet_options.broadcast;
    settings.rooms = fleet_options.rooms;
    settings.rate = absl::GetFlag(FLAGS_emit_rate);
    settings.max_undelivered = absl::GetFlag(FLAGS_max_undelivered);
    settings.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
    double own_cpu_start = OwnCpuSeconds();
    ProcGroupSample start = SampleProcesses(server_pids);
    Clock::time_point window_start = Clock::now();
    const auto window = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(absl::GetFlag(FLAGS_duration_s)));
    std::optional<EmitPlan> plan;
    if (client_events) {
      ClientEventSettings client_settings;
      client_settings.event = absl::GetFlag(FLAGS_client_event);
      client_settings.rate = settings.rate;
      client_settings.max_in_flight = settings.max_undelivered;
      client_settings.payload_bytes = settings.payload_bytes;
      client_settings.ack = absl::GetFlag(FLAGS_client_ack);
      client_plan = std::make_unique<ClientEventPlan>(client_settings, ledger, window);
      fleet.Drive(client_plan.get());
    } else {
      plan.emplace(settings, ledger, fleet.readers_per_stream(), window);
      const int concurrency = std::max(1, absl::GetFlag(FLAGS_emit_concurrency));
      if (emit == "http") {
        RunHttpEmitters(*plan, fleet_options.targets, concurrency);
      } else {
        RunGrpcEmitters(*plan, absl::GetFlag(FLAGS_grpc_target), concurrency,
                        emit == "batch" ? std::max(1, absl::GetFlag(FLAGS_batch_size)) : 0,
                        absl::GetFlag(FLAGS_calls_in_flight));
      }
    }
    // At a fixed rate the last emit goes before the window ends: the
    // window is still the whole duration.
    std::this_thread::sleep_until(
        window_start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(absl::GetFlag(FLAGS_duration_s))));
    window_seconds = SecondsSince(window_start);
    Clock::time_point drain_start = Clock::now();
    while (ledger.Outstanding() > 0 && SecondsSince(drain_start) < absl::GetFlag(FLAGS_drain_s)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    // Without acks nothing is owed here: the events still on their way are
    // through once the servers (and the service) go quiet.
    if (client_events && !absl::GetFlag(FLAGS_client_ack)) {
      constexpr auto kQuietStep = std::chrono::milliseconds(200);
      constexpr double kQuietCpuS = 0.01;  // 5% of a core over a step
      double cpu = SampleProcesses(server_pids).total.cpu_s;
      while (SecondsSince(drain_start) < absl::GetFlag(FLAGS_drain_s)) {
        std::this_thread::sleep_for(kQuietStep);
        const double now = SampleProcesses(server_pids).total.cpu_s;
        if (now - cpu < kQuietCpuS) break;
        cpu = now;
      }
    }
    measure_seconds = SecondsSince(window_start);
    ended = SampleProcesses(server_pids);
    own_cpu = OwnCpuSeconds() - own_cpu_start;
    measured = start;
    if (client_plan) {
      ClientEventCounts counts = client_plan->Counts();
      emitted = counts.sent;
      errors = counts.errors();
    } else {
      emitted = plan->emitted();
      errors = plan->errors();
    }
  }
  fleet.Stop();

  const int64_t delivered = ledger.delivered();
  const double server_cpu = ended.total.cpu_s - measured.total.cpu_s;
  LatencySummary latency = ledger.Latency();
  out["emitted"] = emitted;
  out["emit_errors"] = errors;
  out["emits_per_s"] = window_seconds > 0 ? emitted / window_seconds : 0.0;
  out["expected"] = ledger.expected();
  out["delivered"] = delivered;
  out["lost"] = ledger.expected() - delivered;
  out["duplicated"] = ledger.duplicated();
  out["dropped_clients"] = fleet.dropped();
  out["deliveries_per_s"] = measure_seconds > 0 ? delivered / measure_seconds : 0.0;
  out["measure_seconds"] = measure_seconds;
  out["latency_us"] = {{"p50", latency.p50},
                       {"p90", latency.p90},
                       {"p99", latency.p99},
                       {"max", latency.max},
                       {"samples", latency.samples}};
  out["loadgen_cpu_s"] = own_cpu;
  if (client_plan) {
    // delivered = ok acks, lost = unanswered, latency = the round trips.
    ClientEventCounts counts = client_plan->Counts();
    out["client_events"] = {{"event", absl::GetFlag(FLAGS_client_event)},
                            {"ack", absl::GetFlag(FLAGS_client_ack)},
                            {"sent", counts.sent},
                            {"acked", counts.acked},
                            {"errors",
                             {{"timeout", counts.timeout},
                              {"unavailable", counts.unavailable},
                              {"limit", counts.limit},
                              {"other", counts.other_error}}},
                            {"unexpected_acks", counts.unexpected}};
    // Without acks the service counts what arrived (run.mjs: `receiver`).
    if (absl::GetFlag(FLAGS_client_ack)) {
      out["client_events"].as_object()["unanswered"] = counts.unanswered();
    }
  }
  server_out["rss_after_kb"] = ended.total.rss_kb;
  server_out["cpu_measure_s"] = server_cpu;
  server_out["cpu_per_delivery_us"] = delivered > 0 ? server_cpu * 1e6 / delivered : 0.0;
  int64_t rss_connected = server_out["rss_connected_kb"].as_int64();
  server_out["rss_per_connection_bytes"] =
      static_cast<double>(rss_connected - before.total.rss_kb) * 1024.0 / fleet.joined();
  server_out["per_process"] =
      PerProcess(server_pids, before, connected, measured, ended, emit == "none");
  out["server"] = std::move(server_out);
  std::cout << boost::json::serialize(out) << std::endl;
  return 0;
}

}  // namespace
}  // namespace roomcast::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Socket.IO load generator and emitter for side-by-side benchmarks.");
  absl::ParseCommandLine(argc, argv);
  return roomcast::bench::Run();
}
