#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/statusor.h"

namespace roomcast {

// Every address `host` stands for. `localhost` is always ::1 and 127.0.0.1,
// whatever the hosts file says (as curl treats it): a server listening on
// one family only is still reached.
absl::StatusOr<std::vector<boost::asio::ip::tcp::endpoint>> ResolveAll(const std::string& host,
                                                                       uint16_t port);

// A connection to the first of `endpoints` that accepts, happy-eyeballs
// style: each attempt gets a head start of `stagger` over the next, and
// starts at once when the one before it fails. Runs `io` until done.
absl::StatusOr<boost::asio::ip::tcp::socket> ConnectFirst(
    boost::asio::io_context& io, const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
    std::chrono::milliseconds timeout,
    std::chrono::milliseconds stagger = std::chrono::milliseconds(150));

// "host:port" split; IPv6 literals in brackets.
absl::StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& target);

}  // namespace roomcast
