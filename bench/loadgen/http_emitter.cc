#include "bench/loadgen/http_emitter.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace roomcast::bench {

namespace {

// One keep-alive connection; reconnects when the server closes it.
class HttpConnection {
 public:
  HttpConnection(const sockaddr_in& target, std::string host)
      : target_(target), host_(std::move(host)) {}
  ~HttpConnection() { Close(); }

  // Posts `body`; the response status, or 0 when the connection failed.
  int Post(std::string_view body) {
    std::string request =
        "POST /api/socket/emit HTTP/1.1\r\nHost: " + host_ +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n";
    request.append(body);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Connect()) return 0;
      if (SendAll(request)) {
        int status = ReadResponse();
        if (status != 0) return status;
      }
      Close();  // a kept-alive connection the server had closed: once more
    }
    return 0;
  }

 private:
  bool Connect() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&target_), sizeof(target_)) != 0) {
      Close();
      return false;
    }
    return true;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buffer_.clear();
  }
  bool SendAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  bool Fill() {
    char chunk[16384];
    ssize_t n;
    do {
      n = recv(fd_, chunk, sizeof(chunk), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int ReadResponse() {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return 0;
    }
    std::string lower = buffer_.substr(0, end);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    int status = 0;
    if (lower.size() < 12 ||
        std::from_chars(lower.data() + 9, lower.data() + 12, status).ec != std::errc()) {
      return 0;
    }
    size_t length = 0;
    if (size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
    }
    bool closes = lower.find("\r\nconnection: close") != std::string::npos;
    while (buffer_.size() < end + 4 + length) {
      if (!Fill()) return 0;
    }
    buffer_.erase(0, end + 4 + length);
    if (closes) Close();
    return status;
  }

  sockaddr_in target_;
  std::string host_;
  int fd_ = -1;
  std::string buffer_;
};

void EmitOverHttp(EmitPlan& plan, const Target& target) {
  HttpConnection connection(target.address, target.host_header);
  while (plan.Next()) {
    EmitItem item = plan.Make();
    std::string body = item.room.empty() ? "{" : "{\"room\":\"" + item.room + "\",";
    body += "\"event\":\"bench\",\"data\":" + item.data_json + "}";
    int status = connection.Post(body);
    if (status >= 200 && status < 300) {
      plan.Succeeded(1);
    } else {
      static std::atomic<bool> logged{false};
      if (!logged.exchange(true)) std::cerr << "emit failed: HTTP status " << status << "\n";
      plan.Failed(item);
    }
  }
}

}  // namespace

void RunHttpEmitters(EmitPlan& plan, const std::vector<Target>& targets, int concurrency) {
  std::vector<std::thread> threads;
  threads.reserve(concurrency);
  for (int i = 0; i < concurrency; ++i) {
    const Target& target = targets[static_cast<size_t>(i) % targets.size()];
    threads.emplace_back([&plan, &target] { EmitOverHttp(plan, target); });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace roomcast::bench
