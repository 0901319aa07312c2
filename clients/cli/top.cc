#include "clients/cli/top.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace roomcast::cli {
namespace {

volatile std::sig_atomic_t interrupted = 0;

void OnInterrupt(int) { interrupted = 1; }

uint64_t Emits(const v1::StatusResponse& status) {
  uint64_t total = 0;
  for (const auto& [transport, count] : status.counters().emits_by_transport()) {
    total += count;
  }
  return total;
}

// Per second, 0 when a counter went back (the server restarted).
double Rate(uint64_t before, uint64_t now, double seconds) {
  return now >= before && seconds > 0 ? static_cast<double>(now - before) / seconds : 0;
}

// Reads q without echo or Enter while it lives, when stdin is a terminal.
class RawInput {
 public:
  RawInput() : terminal_(isatty(STDIN_FILENO) == 1) {
    if (terminal_ && tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
      terminal_ = false;
    }
  }
  ~RawInput() {
    if (terminal_) {
      tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
  }
  RawInput(const RawInput&) = delete;
  RawInput& operator=(const RawInput&) = delete;

  // Waits up to `wait`; true when q was typed.
  bool QuitWithin(std::chrono::milliseconds wait) const {
    if (!terminal_) {
      poll(nullptr, 0, static_cast<int>(wait.count()));
      return false;
    }
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(wait.count())) > 0) {
      char c = 0;
      return read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q');
    }
    return false;
  }

 private:
  bool terminal_;
  termios saved_{};
};

double SecondsOf(const google::protobuf::Timestamp& at) {
  return static_cast<double>(at.seconds()) + at.nanos() / 1e9;
}

}  // namespace

void ClusterRates::Update(const v1::StatusResponse& status) {
  std::map<std::string, Seen> next;
  for (const v1::NodeStatus& node : status.nodes()) {
    Seen seen{node, {}};
    if (auto was = nodes_.find(node.id()); was != nodes_.end()) {
      const double seconds =
          SecondsOf(node.sampled_at()) - SecondsOf(was->second.last.sampled_at());
      if (seconds <= 0) {
        seen = was->second;  // No new sample yet: keep the last rates.
      } else {
        const v1::NodeStatus& last = was->second.last;
        seen.rates = {Rate(last.emits(), node.emits(), seconds),
                      Rate(last.deliveries(), node.deliveries(), seconds),
                      Rate(last.drops(), node.drops(), seconds)};
      }
    }
    next.emplace(node.id(), std::move(seen));
  }
  nodes_ = std::move(next);
}

ClusterRates::Rates ClusterRates::Of(const std::string& node_id) const {
  auto found = nodes_.find(node_id);
  return found == nodes_.end() ? Rates{} : found->second.rates;
}

ClusterRates::Rates ClusterRates::Total() const {
  Rates total;
  for (const auto& [id, seen] : nodes_) {
    total.emits += seen.rates.emits;
    total.deliveries += seen.rates.deliveries;
    total.drops += seen.rates.drops;
  }
  return total;
}

std::string TopFrame(const v1::StatusResponse& before, const v1::StatusResponse& now,
                     double seconds, const ClusterRates* cluster) {
  std::string out =
      absl::StrFormat("roomcast top  node %s  version %s  up %ds%s\n", now.node_id(), now.version(),
                      now.uptime_seconds(), now.draining() ? "  DRAINING" : "");
  absl::StrAppendFormat(&out, "connections %d  rooms %d\n", now.connections(), now.rooms());
  absl::StrAppendFormat(&out, "emits/s %.1f  deliveries/s %.1f  p99 emit %.2f ms\n",
                        Rate(Emits(before), Emits(now), seconds),
                        Rate(before.counters().deliveries(), now.counters().deliveries(), seconds),
                        now.emit_latency().p99_ms());
  out += "drops/s";
  const auto& was = before.counters().drops_by_reason();
  for (const auto& [reason, count] : std::map<std::string, uint64_t>(
           now.counters().drops_by_reason().begin(), now.counters().drops_by_reason().end())) {
    absl::StrAppendFormat(&out, "  %s %.1f (total %d)", reason,
                          Rate(was.contains(reason) ? was.at(reason) : 0, count, seconds), count);
  }
  out += "\n";
  if (cluster != nullptr) {
    const ClusterRates::Rates total = cluster->Total();
    absl::StrAppendFormat(
        &out,
        "cluster: %d node(s), %d socket(s)  emits/s %.1f  deliveries/s %.1f  drops/s %.1f%s\n",
        now.cluster().nodes(), now.cluster().sockets(), total.emits, total.deliveries, total.drops,
        now.cluster().error().empty()
            ? ""
            : absl::StrCat(" (this node only: ", now.cluster().error(), ")"));
    for (const v1::NodeStatus& node : now.nodes()) {
      const ClusterRates::Rates rates = cluster->Of(node.id());
      absl::StrAppendFormat(
          &out, "  %-24s %-22s sockets %-7d rooms %-6d emits/s %-8.1f deliveries/s %.1f\n",
          node.id(), node.address(), node.sockets(), node.rooms(), rates.emits, rates.deliveries);
    }
  }
  out += "top rooms\n";
  for (const v1::RoomSize& room : now.top_rooms()) {
    absl::StrAppendFormat(&out, "  %-8d %s %s\n", room.members(), room.namespace_(), room.room());
  }
  return out;
}

absl::Status RunTop(const TopOptions& options,
                    const std::function<absl::StatusOr<v1::StatusResponse>()>& status) {
  absl::StatusOr<v1::StatusResponse> before = status();
  if (!before.ok()) {
    return before.status();
  }
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  RawInput input;
  ClusterRates cluster;
  cluster.Update(*before);
  auto sampled = std::chrono::steady_clock::now();
  for (int frame = 0; options.iterations == 0 || frame < options.iterations; ++frame) {
    if (input.QuitWithin(options.interval) || interrupted) {
      break;
    }
    absl::StatusOr<v1::StatusResponse> now = status();
    if (!now.ok()) {
      return now.status();
    }
    const auto at = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(at - sampled).count();
    cluster.Update(*now);
    const std::string text = TopFrame(*before, *now, seconds, options.cluster ? &cluster : nullptr);
    std::fputs(options.clear ? "\x1b[H\x1b[2J" : "\n", stdout);
    std::fputs(text.c_str(), stdout);
    if (options.iterations == 0) {
      std::fputs("(q or Ctrl-C to quit)\n", stdout);
    }
    std::fflush(stdout);
    before = *std::move(now);
    sampled = at;
  }
  return absl::OkStatus();
}

}  // namespace roomcast::cli
