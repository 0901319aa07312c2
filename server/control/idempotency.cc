#include "server/control/idempotency.h"

#include "absl/strings/str_cat.h"

namespace roomcast::control {
namespace {

// Namespaces start with '/', keys are free text: a NUL keeps them apart.
std::string EntryKey(const std::string& nsp, const std::string& key) {
  return absl::StrCat(nsp, absl::string_view("\0", 1), key);
}

}  // namespace

void IdempotencyCache::ExpireOld(Clock::time_point now) {
  while (!expiry_.empty() && expiry_.front().first <= now) {
    auto it = entries_.find(expiry_.front().second);
    if (it != entries_.end() && it->second.expires <= now) {
      entries_.erase(it);
    }
    expiry_.pop_front();
  }
}

bool IdempotencyCache::Claim(const std::string& nsp, const std::string& key, OnFirst on_first) {
  const Clock::time_point now = Clock::now();
  std::string entry_key = EntryKey(nsp, key);
  std::optional<Result> done;
  {
    absl::MutexLock lock(&mutex_);
    ExpireOld(now);
    auto [it, inserted] = entries_.try_emplace(entry_key, Entry{std::nullopt, now + window_, {}});
    if (inserted) {
      expiry_.emplace_back(now + window_, std::move(entry_key));
      return true;
    }
    if (!it->second.result) {
      it->second.waiting.push_back(std::move(on_first));
      return false;
    }
    done = it->second.result;
  }
  std::move(on_first)(done);  // Outside the lock: it may call back in.
  return false;
}

void IdempotencyCache::Complete(const std::string& nsp, const std::string& key, Result result) {
  Finish(nsp, key, result);
}

void IdempotencyCache::Release(const std::string& nsp, const std::string& key) {
  Finish(nsp, key, std::nullopt);
}

void IdempotencyCache::Finish(const std::string& nsp, const std::string& key,
                              std::optional<Result> result) {
  std::vector<OnFirst> waiting;
  {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find(EntryKey(nsp, key));
    if (it == entries_.end()) {
      return;
    }
    waiting.swap(it->second.waiting);
    if (result) {
      it->second.result = result;
    } else {
      entries_.erase(it);
    }
  }
  for (OnFirst& on_first : waiting) {
    std::move(on_first)(result);
  }
}

}  // namespace roomcast::control
