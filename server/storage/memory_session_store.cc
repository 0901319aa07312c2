#include "server/storage/memory_session_store.h"

namespace roomcast::storage {

void MemorySessionStore::Save(const core::SessionRecord& record) {
  core::SessionRecord saved = record;
  saved.joined = log_.Head(record.nsp);
  absl::MutexLock lock(&mutex_);
  sessions_[KeyOf(record.nsp, record.pid)] = Entry{std::move(saved), std::nullopt};
}

void MemorySessionStore::UpdateRooms(const core::SessionRecord& record) {
  absl::MutexLock lock(&mutex_);
  auto it = sessions_.find(KeyOf(record.nsp, record.pid));
  if (it != sessions_.end() && it->second.record.owner == record.owner) {
    it->second.record.rooms = record.rooms;
  }
}

void MemorySessionStore::Suspend(const core::SessionRecord& record) {
  const Clock::time_point now = Clock::now();
  absl::MutexLock lock(&mutex_);
  auto it = sessions_.find(KeyOf(record.nsp, record.pid));
  if (it != sessions_.end() && it->second.record.owner == record.owner) {
    it->second.record.rooms = record.rooms;
    it->second.suspended = now;
  }
  Sweep(now);
}

void MemorySessionStore::Drop(const core::SessionRecord& record) {
  absl::MutexLock lock(&mutex_);
  auto it = sessions_.find(KeyOf(record.nsp, record.pid));
  if (it != sessions_.end() && it->second.record.owner == record.owner) {
    sessions_.erase(it);
  }
}

void MemorySessionStore::Claim(const std::string& nsp, const std::string& pid, ClaimDone done) {
  std::optional<core::SessionRecord> claimed;
  {
    const Clock::time_point now = Clock::now();
    absl::MutexLock lock(&mutex_);
    auto it = sessions_.find(KeyOf(nsp, pid));
    if (it != sessions_.end()) {
      // A connected one is claimable too: its client is back before the
      // server noticed it had gone (a ping timeout still running).
      if (!it->second.suspended || now - *it->second.suspended <= window_) {
        claimed = std::move(it->second.record);
      }
      sessions_.erase(it);
    }
  }
  std::move(done)(std::move(claimed));
}

void MemorySessionStore::Sweep(Clock::time_point now) {
  if (now - last_sweep_ < window_) {
    return;
  }
  last_sweep_ = now;
  absl::erase_if(sessions_, [&](const auto& entry) {
    return entry.second.suspended && now - *entry.second.suspended > window_;
  });
}

size_t MemorySessionStore::size() const {
  absl::MutexLock lock(&mutex_);
  return sessions_.size();
}

}  // namespace roomcast::storage
