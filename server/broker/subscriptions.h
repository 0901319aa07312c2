#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/core/room_interest.h"

namespace roomcast::broker {

// Which namespaces and rooms this node wants traffic for (counted over its
// shards) and which of those Redis has confirmed. Shards report from their
// threads; the broker's thread takes the changes to send and reports the
// confirmations. Rapid join/leave churn coalesces: only a change of the
// wanted state since the last send goes to Redis.
class Subscriptions final : public core::RoomInterest {
 public:
  // A namespace (room empty) or a room of one.
  struct Key {
    std::string nsp;
    std::string room;
    bool is_namespace() const { return room.empty(); }
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H hash, const Key& key) {
      return H::combine(std::move(hash), key.nsp, key.room);
    }
  };
  struct Change {
    Key key;
    bool subscribe;
  };

  // `wake` runs (from a shard's thread, under no lock) when there are
  // changes to take; it posts the broker's flush.
  explicit Subscriptions(std::function<void()> wake) : wake_(std::move(wake)) {}

  void GainedNamespace(std::string_view nsp) override { Add({std::string(nsp), {}}, +1); }
  void LostNamespace(std::string_view nsp) override { Add({std::string(nsp), {}}, -1); }
  void GainedRoom(std::string_view nsp, std::string_view room) override {
    Add({std::string(nsp), std::string(room)}, +1);
  }
  void LostRoom(std::string_view nsp, std::string_view room) override {
    Add({std::string(nsp), std::string(room)}, -1);
  }
  void WhenReceiving(std::string_view nsp, std::span<const std::string> rooms,
                     Ready ready) override;

  // The broker's thread: what to (un)subscribe now.
  std::vector<Change> TakeChanges();
  // Redis confirmed the last (un)subscribe sent for `key`.
  void Confirmed(const Key& key);
  // The subscriber connection is up (true) or lost (false): when lost,
  // everything wanted is sent again on the next connection, and whoever
  // waits is told it cannot be had now.
  void SetOnline(bool online);

  // Namespaces and rooms with members here.
  size_t wanted() const { return wanted_.load(std::memory_order_relaxed); }

 private:
  // Waits for several keys at once; answered once.
  struct Waiter {
    size_t remaining = 0;
    Ready ready;
  };
  struct Entry {
    int shards = 0;       // Shards with members.
    bool sent = false;    // What was last sent: subscribe (true) or unsubscribe.
    int unconfirmed = 0;  // Sent, not yet confirmed.
    bool dirty = false;   // On the change list.
    std::vector<std::shared_ptr<Waiter>> waiters;
    bool ready() const { return sent && unconfirmed == 0; }
  };
  using Answers = std::vector<std::pair<std::shared_ptr<Waiter>, absl::Status>>;

  void Add(Key key, int delta);
  // Runs the answers outside the lock.
  static void Answer(const Answers& answers);
  static void Release(Entry& entry, const absl::Status& status, Answers& answers);

  std::function<void()> wake_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<Key, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  std::vector<Key> dirty_ ABSL_GUARDED_BY(mutex_);
  bool online_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<size_t> wanted_{0};
};

}  // namespace roomcast::broker
