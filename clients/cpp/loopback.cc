#include "clients/cpp/loopback.h"

#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace roomcast {

using boost::asio::ip::tcp;

absl::StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& target) {
  const size_t colon = target.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon + 1 == target.size() ||
      !absl::SimpleAtoi(absl::string_view(target).substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("expected host:port, got '", target, "'"));
  }
  std::string host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

absl::StatusOr<std::vector<tcp::endpoint>> ResolveAll(const std::string& host, uint16_t port) {
  if (absl::AsciiStrToLower(host) == "localhost") {
    return std::vector<tcp::endpoint>{
        tcp::endpoint(boost::asio::ip::make_address("::1"), port),
        tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port)};
  }
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot resolve '", host, "': ", ec.message()));
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    endpoints.push_back(entry.endpoint());
  }
  return endpoints;
}

absl::StatusOr<tcp::socket> ConnectFirst(boost::asio::io_context& io,
                                         const std::vector<tcp::endpoint>& endpoints,
                                         std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds stagger) {
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  std::vector<bool> started(endpoints.size(), false);
  std::optional<size_t> winner;
  std::string last_error = "no address";
  size_t failed = 0;

  std::function<void(size_t)> start = [&](size_t i) {
    if (i >= endpoints.size() || started[i] || winner) {
      return;
    }
    started[i] = true;
    sockets[i]->async_connect(endpoints[i], [&, i](boost::system::error_code ec) {
      if (!ec && !winner) {
        winner = i;
        io.stop();
        return;
      }
      last_error = ec.message();
      if (++failed == endpoints.size()) {
        io.stop();
      }
      start(i + 1);
    });
  };
  for (size_t i = 0; i < endpoints.size(); ++i) {
    sockets.push_back(std::make_unique<tcp::socket>(io));
    timers.push_back(
        std::make_unique<boost::asio::steady_timer>(io, stagger * static_cast<int>(i)));
    timers.back()->async_wait([&, i](boost::system::error_code ec) {
      if (!ec) {
        start(i);
      }
    });
  }
  io.restart();
  io.run_for(timeout);
  // Cancel the losers and let their handlers run before the locals go away.
  for (size_t i = 0; i < endpoints.size(); ++i) {
    boost::system::error_code ignored;
    timers[i]->cancel();
    if (!winner || *winner != i) {
      sockets[i]->close(ignored);
    }
  }
  io.restart();
  io.poll();
  if (winner) {
    return std::move(*sockets[*winner]);
  }
  return absl::UnavailableError(absl::StrCat("no address reachable: ", last_error));
}

}  // namespace roomcast
