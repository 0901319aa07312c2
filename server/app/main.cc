// roomcastd: the Roomcast server. Wiring only; the parts live in server/.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "server/app/config.h"
#include "server/app/server.h"
#include "server/observe/logging.h"

int main(int argc, char** argv) {
  absl::StatusOr<roomcast::app::Config> config = roomcast::app::LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "roomcastd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  roomcast::observe::InitLogging(config->log_format, config->log_level);
  const auto drain_deadline = config->drain_deadline;

  // Signals are taken before any thread starts, so every thread inherits the mask.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGTERM, SIGINT);

  roomcast::app::Server server(*std::move(config));
  if (absl::Status status = server.Start(); !status.ok()) {
    std::fprintf(stderr, "roomcastd: %s\n", std::string(status.message()).c_str());
    return 1;
  }

  int received = 0;
  signals.async_wait([&](const boost::system::error_code&, int signal) { received = signal; });
  signals_io.run();
  spdlog::info("app: signal={} draining deadline_ms={}", received, drain_deadline.count());

  // Whatever happens in the drain, the process ends by its deadline.
  std::thread([drain_deadline] {
    std::this_thread::sleep_for(drain_deadline + std::chrono::milliseconds(500));
    spdlog::warn("app: drain deadline passed, exiting");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }).detach();

  server.Drain();
  spdlog::info("app: stopped");
  return 0;
}
