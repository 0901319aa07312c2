#include "server/broker/redis_session_store.h"

#include "absl/strings/numbers.h"
#include "server/base/clock.h"
#include "server/base/string_view.h"
#include "server/broker/session_scripts.h"
#include "server/core/string_list_json.h"

namespace roomcast::broker {
namespace {

const RedisScript& SaveLua() {
  static const RedisScript script(kSaveSessionScript);
  return script;
}
const RedisScript& UpdateLua() {
  static const RedisScript script(kUpdateSessionScript);
  return script;
}
const RedisScript& DropLua() {
  static const RedisScript script(kDropSessionScript);
  return script;
}
const RedisScript& RestoreLua() {
  static const RedisScript script(kRestoreSessionScript);
  return script;
}
const RedisScript& ClaimLua() {
  static const RedisScript script(kClaimSessionScript);
  return script;
}

}  // namespace

RedisSessionStore::RedisSessionStore(RedisBroker& redis, std::chrono::milliseconds window)
    : redis_(redis),
      window_(window),
      connected_ttl_(window + 3 * redis.options().heartbeat_interval) {
  redis_.SetHeartbeatHook([this] { Renew(); });
}

void RedisSessionStore::Save(const core::SessionRecord& record) {
  std::string key = redis_.keys().Session(record.nsp, record.pid);
  {
    absl::MutexLock lock(&mutex_);
    connected_.insert(key);
  }
  redis_.Eval(SaveLua(), {std::move(key), redis_.keys().LogMeta(record.nsp)},
              {record.sid, record.user_id, core::StringListJson(record.rooms), record.owner,
               std::to_string(connected_ttl_.count())},
              nullptr);
}

void RedisSessionStore::UpdateRooms(const core::SessionRecord& record) {
  redis_.Eval(UpdateLua(), {redis_.keys().Session(record.nsp, record.pid)},
              {record.owner, core::StringListJson(record.rooms)}, nullptr);
}

void RedisSessionStore::Suspend(const core::SessionRecord& record) {
  std::string key = redis_.keys().Session(record.nsp, record.pid);
  Forget(key);
  redis_.Eval(UpdateLua(), {std::move(key)},
              {record.owner, core::StringListJson(record.rooms), std::to_string(base::UnixMillis()),
               std::to_string(window_.count())},
              nullptr);
}

void RedisSessionStore::Drop(const core::SessionRecord& record) {
  std::string key = redis_.keys().Session(record.nsp, record.pid);
  Forget(key);
  redis_.Eval(DropLua(), {std::move(key)}, {record.owner}, nullptr);
}

void RedisSessionStore::Forget(const std::string& key) {
  absl::MutexLock lock(&mutex_);
  connected_.erase(key);
}

void RedisSessionStore::Claim(const std::string& nsp, const std::string& pid, ClaimDone done) {
  redis_.Eval(
      ClaimLua(), {redis_.keys().Session(nsp, pid)}, {},
      [this, nsp, pid, done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
        if (!reply.ok() || (*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements == 0) {
          std::move(done)(std::nullopt);  // Unknown, expired, or Redis is down.
          return;
        }
        core::SessionRecord record;
        record.nsp = nsp;
        record.pid = pid;
        const redisReply& fields = **reply;
        for (size_t i = 0; i + 1 < fields.elements; i += 2) {
          const std::string_view name = ReplyText(*fields.element[i]);
          const std::string_view value = ReplyText(*fields.element[i + 1]);
          if (name == "sid") {
            record.sid = std::string(value);
          } else if (name == "user") {
            record.user_id = std::string(value);
          } else if (name == "rooms") {
            record.rooms = core::ParseStringList(value);
          } else if (name == "owner") {
            record.owner = std::string(value);
          } else if (name == "suspended") {
            (void)absl::SimpleAtoi(ToAbsl(value), &record.suspended_ms);
          } else if (name == "joined_epoch") {
            record.joined.epoch = std::string(value);
          } else if (name == "joined_offset") {
            (void)absl::SimpleAtoi(ToAbsl(value), &record.joined.offset);
          }
        }
        // A connected one is claimable too: its client is back before
        // its node noticed it had gone, or its node died.
        if (record.sid.empty() || (record.suspended_ms != 0 &&
                                   base::UnixMillis() - record.suspended_ms > window_.count())) {
          std::move(done)(std::nullopt);
          return;
        }
        std::move(done)(std::move(record));
      });
}

void RedisSessionStore::Restore(const core::SessionRecord& record) {
  // What is left of its window, or, connected elsewhere when claimed, a
  // connected session's lease.
  const int64_t ttl = record.suspended_ms == 0
                          ? connected_ttl_.count()
                          : window_.count() - (base::UnixMillis() - record.suspended_ms);
  if (ttl <= 0) {
    return;
  }
  redis_.Eval(RestoreLua(), {redis_.keys().Session(record.nsp, record.pid)},
              {record.sid, record.user_id, core::StringListJson(record.rooms), record.owner,
               std::to_string(record.suspended_ms), record.joined.epoch,
               std::to_string(record.joined.offset), std::to_string(ttl)},
              nullptr);
}

void RedisSessionStore::Renew() {
  const std::string ttl = std::to_string(connected_ttl_.count());
  std::vector<std::vector<std::string>> renewals;
  {
    absl::MutexLock lock(&mutex_);
    renewals.reserve(connected_.size());
    for (const std::string& key : connected_) {
      renewals.push_back({"PEXPIRE", key, ttl});
    }
  }
  redis_.Commands(std::move(renewals));  // Pipelined: one write for all of them.
}

}  // namespace roomcast::broker
