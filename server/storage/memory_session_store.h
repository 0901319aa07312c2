#pragma once

#include <chrono>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/core/event_store.h"
#include "server/core/session_store.h"

namespace roomcast::storage {

// Sessions of a single node, in memory: connected ones until they leave,
// suspended ones for the recovery window.
class MemorySessionStore final : public core::SessionStore {
 public:
  MemorySessionStore(const core::EventStore& log, std::chrono::milliseconds window)
      : log_(log), window_(window) {}

  void Save(const core::SessionRecord& record) override;
  void UpdateRooms(const core::SessionRecord& record) override;
  void Suspend(const core::SessionRecord& record) override;
  void Drop(const core::SessionRecord& record) override;
  void Claim(const std::string& nsp, const std::string& pid, ClaimDone done) override;
  void Restore(const core::SessionRecord& record) override;

  size_t size() const;

 private:
  using Clock = std::chrono::system_clock;
  // Whether a session suspended at `suspended_ms` is past its window.
  bool Expired(int64_t suspended_ms, Clock::time_point now) const;
  static std::string KeyOf(const std::string& nsp, const std::string& pid) {
    return nsp + '\n' + pid;
  }
  // Drops sessions whose window passed (at most once per window).
  void Sweep(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const core::EventStore& log_;
  const std::chrono::milliseconds window_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, core::SessionRecord> sessions_ ABSL_GUARDED_BY(mutex_);
  Clock::time_point last_sweep_ ABSL_GUARDED_BY(mutex_) = Clock::now();
};

}  // namespace roomcast::storage
