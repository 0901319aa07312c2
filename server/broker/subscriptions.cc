#include "server/broker/subscriptions.h"

namespace roomcast::broker {
namespace {

absl::Status Unreachable() {
  return absl::UnavailableError("Redis is unreachable: the room's traffic cannot reach this node");
}

}  // namespace

void Subscriptions::Add(Key key, int delta) {
  bool wake = false;
  {
    absl::MutexLock lock(&mutex_);
    Entry& entry = entries_[key];
    const bool wanted_before = entry.shards > 0;
    entry.shards += delta;
    if (wanted_before != (entry.shards > 0)) {
      wanted_.fetch_add(wanted_before ? -1 : 1, std::memory_order_relaxed);
    }
    if (wanted_before != (entry.shards > 0) && !entry.dirty) {
      entry.dirty = true;
      wake = dirty_.empty();
      dirty_.push_back(std::move(key));
    }
  }
  if (wake) {
    wake_();
  }
}

void Subscriptions::Release(Entry& entry, const absl::Status& status, Answers& answers) {
  for (std::shared_ptr<Waiter>& waiter : entry.waiters) {
    answers.emplace_back(std::move(waiter), status);
  }
  entry.waiters.clear();
}

void Subscriptions::Answer(const Answers& answers) {
  for (auto& [waiter, status] : answers) {
    if (!waiter->ready) {
      continue;  // Answered already (a failure, or another key's).
    }
    if (!status.ok() || --waiter->remaining == 0) {
      std::move(waiter->ready)(status);
      waiter->ready = nullptr;
    }
  }
}

void Subscriptions::WhenReceiving(std::string_view nsp, std::span<const std::string> rooms,
                                  Ready ready) {
  bool online = false;
  auto waiter = std::make_shared<Waiter>();
  {
    absl::MutexLock lock(&mutex_);
    online = online_;
    for (const std::string& room : online ? rooms : std::span<const std::string>()) {
      auto it = entries_.find(Key{std::string(nsp), room});
      if (it != entries_.end() && !it->second.ready() && it->second.shards > 0) {
        it->second.waiters.push_back(waiter);
        ++waiter->remaining;
      }
    }
    if (waiter->remaining > 0) {
      waiter->ready = std::move(ready);
      return;
    }
  }
  std::move(ready)(online ? absl::OkStatus() : Unreachable());
}

std::vector<Subscriptions::Change> Subscriptions::TakeChanges() {
  std::vector<Change> changes;
  Answers answers;
  {
    absl::MutexLock lock(&mutex_);
    if (!online_) {
      return changes;  // Sent again, all of it, when the connection is back.
    }
    for (Key& key : dirty_) {
      auto it = entries_.find(key);
      if (it == entries_.end()) {
        continue;
      }
      Entry& entry = it->second;
      entry.dirty = false;
      const bool wanted = entry.shards > 0;
      if (wanted != entry.sent) {
        entry.sent = wanted;
        ++entry.unconfirmed;
        changes.push_back({std::move(key), wanted});
      }
      if (!wanted) {
        // Nobody here needs the room any more: whoever waited for it is done.
        Release(entry, absl::OkStatus(), answers);
        if (!entry.sent && entry.unconfirmed == 0) {
          entries_.erase(it);
        }
      }
    }
    dirty_.clear();
  }
  Answer(answers);
  return changes;
}

void Subscriptions::Confirmed(const Key& key) {
  Answers answers;
  {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.unconfirmed == 0) {
      return;  // A confirmation from a connection since lost.
    }
    Entry& entry = it->second;
    --entry.unconfirmed;
    if (entry.ready()) {
      Release(entry, absl::OkStatus(), answers);
    } else if (!entry.sent && entry.unconfirmed == 0 && entry.shards == 0 && !entry.dirty) {
      entries_.erase(it);
    }
  }
  Answer(answers);
}

void Subscriptions::SetOnline(bool online) {
  Answers answers;
  bool wake = false;
  {
    absl::MutexLock lock(&mutex_);
    online_ = online;
    if (!online) {
      const absl::Status lost = Unreachable();
      for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& entry = it->second;
        Release(entry, lost, answers);
        entry.sent = false;
        entry.unconfirmed = 0;
        if (entry.shards == 0 && !entry.dirty) {
          entries_.erase(it++);
          continue;
        }
        if (!entry.dirty) {
          entry.dirty = true;
          dirty_.push_back(it->first);
        }
        ++it;
      }
    } else {
      wake = !dirty_.empty();
    }
  }
  Answer(answers);
  if (wake) {
    wake_();
  }
}

}  // namespace roomcast::broker
