#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace roomcast {

// socket.io-client in a child process (tests/support/sio_listener.mjs).
class SocketIoListener {
 public:
  SocketIoListener(uint16_t port, const std::string& rooms, const std::string& events) {
    int out[2];
    int in[2];
    EXPECT_EQ(pipe(out), 0);
    EXPECT_EQ(pipe(in), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(in[0], STDIN_FILENO);
      close(out[0]);
      close(in[1]);
      const std::string script =
          std::string(ROOMCAST_SOURCE_DIR) + "/tests/support/sio_listener.mjs";
      const std::string url = "http://localhost:" + std::to_string(port);
      execlp("node", "node", script.c_str(), url.c_str(), rooms.c_str(), events.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    close(in[0]);
    out_ = out[0];
    in_ = in[1];
  }
  ~SocketIoListener() {
    close(in_);  // The listener exits when its stdin closes.
    close(out_);
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }

  // The next line it printed, or "" after `timeout`.
  std::string ReadLine(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd fd{out_, POLLIN, 0};
      if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
        return "";
      }
      char chunk[4096];
      const ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) {
        return "";
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  std::string buffer_;
};

}  // namespace roomcast
