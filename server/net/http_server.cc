#include "server/net/http_server.h"

#include <thread>

namespace roomcast::net {

HttpServer::HttpServer(size_t shard_count, HttpRules rules)
    : shards_(shard_count), router_(rules), listener_(shards_, router_) {}

HttpServer::~HttpServer() {
  if (started_) {
    Shutdown(std::chrono::milliseconds(0));
  }
}

absl::Status HttpServer::Listen(const std::string& host, uint16_t port) {
  return listener_.Listen(host, port);
}

void HttpServer::Start() {
  started_ = true;
  listener_.Start();
  shards_.StartAll();
}

void HttpServer::Shutdown(std::chrono::milliseconds flush) {
  if (!started_) {
    return;
  }
  started_ = false;
  listener_.Stop();
  std::this_thread::sleep_for(flush);
  shards_.ReleaseWorkAll();
  shards_.StopAll();
  shards_.JoinAll();
}

}  // namespace roomcast::net
