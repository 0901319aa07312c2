#include "server/storage/memory_session_store.h"

#include "server/base/clock.h"

namespace roomcast::storage {
bool MemorySessionStore::Expired(int64_t suspended_ms, Clock::time_point now) const {
  return suspended_ms != 0 && base::UnixMillis(now) - suspended_ms > window_.count();
}

void MemorySessionStore::Save(const core::SessionRecord& record) {
  core::SessionRecord saved = record;
  saved.joined = log_.Head(record.nsp);
  saved.suspended_ms = 0;
  absl::MutexLock lock(&mutex_);
  sessions_[KeyOf(record.nsp, record.pid)] = std::move(saved);
}

void MemorySessionStore::UpdateRooms(const core::SessionRecord& record) {
  absl::MutexLock lock(&mutex_);
  auto it = sessions_.find(KeyOf(record.nsp, record.pid));
  if (it != sessions_.end() && it->second.owner == record.owner) {
    it->second.rooms = record.rooms;
  }
}

void MemorySessionStore::Suspend(const core::SessionRecord& record) {
  const Clock::time_point now = Clock::now();
  absl::MutexLock lock(&mutex_);
  auto it = sessions_.find(KeyOf(record.nsp, record.pid));
  if (it != sessions_.end() && it->second.owner == record.owner) {
    it->second.rooms = record.rooms;
    it->second.suspended_ms = base::UnixMillis(now);
  }
  Sweep(now);
}

void MemorySessionStore::Drop(const core::SessionRecord& record) {
  absl::MutexLock lock(&mutex_);
  auto it = sessions_.find(KeyOf(record.nsp, record.pid));
  if (it != sessions_.end() && it->second.owner == record.owner) {
    sessions_.erase(it);
  }
}

void MemorySessionStore::Claim(const std::string& nsp, const std::string& pid, ClaimDone done) {
  std::optional<core::SessionRecord> claimed;
  {
    absl::MutexLock lock(&mutex_);
    auto it = sessions_.find(KeyOf(nsp, pid));
    if (it != sessions_.end()) {
      // A connected one is claimable too: its client is back before the
      // server noticed it had gone (a ping timeout still running).
      if (!Expired(it->second.suspended_ms, Clock::now())) {
        claimed = std::move(it->second);
      }
      sessions_.erase(it);
    }
  }
  std::move(done)(std::move(claimed));
}

void MemorySessionStore::Restore(const core::SessionRecord& record) {
  if (Expired(record.suspended_ms, Clock::now())) {
    return;
  }
  absl::MutexLock lock(&mutex_);
  sessions_.try_emplace(KeyOf(record.nsp, record.pid), record);  // Unless it was saved again.
}

void MemorySessionStore::Sweep(Clock::time_point now) {
  if (now - last_sweep_ < window_) {
    return;
  }
  last_sweep_ = now;
  absl::erase_if(sessions_,
                 [&](const auto& entry) { return Expired(entry.second.suspended_ms, now); });
}

size_t MemorySessionStore::size() const {
  absl::MutexLock lock(&mutex_);
  return sessions_.size();
}

}  // namespace roomcast::storage
