#pragma once

#include <chrono>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/redis_broker.h"
#include "server/core/session_store.h"

namespace roomcast::broker {

// Sessions of a cluster in Redis (session_scripts.h), written while they
// are connected, so a client whose node was killed resumes on another node
// as soon as it reconnects there. A connected session's key lives three
// heartbeats past the window and is renewed every heartbeat: a dead node's
// sessions stay claimable for at least the window, and then go.
class RedisSessionStore final : public core::SessionStore {
 public:
  RedisSessionStore(RedisBroker& redis, std::chrono::milliseconds window);

  void Save(const core::SessionRecord& record) override;
  void UpdateRooms(const core::SessionRecord& record) override;
  void Suspend(const core::SessionRecord& record) override;
  void Drop(const core::SessionRecord& record) override;
  void Claim(const std::string& nsp, const std::string& pid, ClaimDone done) override;
  void Restore(const core::SessionRecord& record) override;

 private:
  // Renews the keys of this node's connected sessions (on the broker's thread).
  void Renew();
  void Forget(const std::string& key);

  RedisBroker& redis_;
  const std::chrono::milliseconds window_;
  const std::chrono::milliseconds connected_ttl_;
  absl::Mutex mutex_;
  absl::flat_hash_set<std::string> connected_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace roomcast::broker
