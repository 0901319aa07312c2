#include "server/net/shard.h"

#include <boost/asio/post.hpp>

#include "server/base/ids.h"

namespace roomcast::net {

Shard::Shard(size_t index) : index_(index), work_(boost::asio::make_work_guard(io_)) {}

void Shard::Start() {
  thread_ = std::thread([this] { io_.run(); });
}

void Shard::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

Shards::Shards(size_t count) {
  // Session ids carry the shard in one base64url character.
  count = std::clamp<size_t>(count, 1, base::kIdAlphabet.size());
  for (size_t i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<Shard>(i));
  }
}

void Shards::Run(size_t shard, absl::AnyInvocable<void(core::RoomIndex&) &&> task) {
  Shard& target = *shards_[shard];
  boost::asio::post(target.io(), [&target, task = std::move(task)]() mutable {
    std::move(task)(target.rooms());
  });
}

Shard* Shards::ForSessionId(std::string_view sid) {
  if (sid.empty()) {
    return nullptr;
  }
  const size_t index = base::kIdAlphabet.find(sid.front());
  return index < shards_.size() ? shards_[index].get() : nullptr;
}

std::string Shards::NewSessionId(const Shard& shard) const {
  std::string sid = base::NewId();
  sid[0] = base::kIdAlphabet[shard.index()];
  return sid;
}

void Shards::StartAll() {
  for (auto& shard : shards_) {
    shard->Start();
  }
}

void Shards::ReleaseWorkAll() {
  for (auto& shard : shards_) {
    shard->ReleaseWork();
  }
}

void Shards::StopAll() {
  for (auto& shard : shards_) {
    shard->Stop();
  }
}

void Shards::JoinAll() {
  for (auto& shard : shards_) {
    shard->Join();
  }
}

}  // namespace roomcast::net
