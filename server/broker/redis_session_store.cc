#include "server/broker/redis_session_store.h"

#include <boost/json.hpp>

#include "absl/strings/numbers.h"
#include "server/base/string_view.h"
#include "server/broker/session_scripts.h"

namespace roomcast::broker {
namespace {

namespace json = boost::json;

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

std::string RoomsJson(const std::vector<std::string>& rooms) {
  json::array array;
  array.reserve(rooms.size());
  for (const std::string& room : rooms) {
    array.emplace_back(room);
  }
  return json::serialize(array);
}

std::vector<std::string> ParseRooms(std::string_view text) {
  std::vector<std::string> rooms;
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (!ec && value.is_array()) {
    for (const json::value& room : value.get_array()) {
      if (room.is_string()) {
        rooms.emplace_back(room.get_string());
      }
    }
  }
  return rooms;
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
              {record.sid, record.user_id, RoomsJson(record.rooms), record.owner,
               std::to_string(connected_ttl_.count())},
              nullptr);
}

void RedisSessionStore::UpdateRooms(const core::SessionRecord& record) {
  redis_.Eval(UpdateLua(), {redis_.keys().Session(record.nsp, record.pid)},
              {record.owner, RoomsJson(record.rooms)}, nullptr);
}

void RedisSessionStore::Suspend(const core::SessionRecord& record) {
  std::string key = redis_.keys().Session(record.nsp, record.pid);
  Forget(key);
  redis_.Eval(UpdateLua(), {std::move(key)},
              {record.owner, RoomsJson(record.rooms), std::to_string(UnixMillis()),
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
        int64_t suspended = 0;
        const redisReply& fields = **reply;
        for (size_t i = 0; i + 1 < fields.elements; i += 2) {
          const std::string_view name = ReplyText(*fields.element[i]);
          const std::string_view value = ReplyText(*fields.element[i + 1]);
          if (name == "sid") {
            record.sid = std::string(value);
          } else if (name == "user") {
            record.user_id = std::string(value);
          } else if (name == "rooms") {
            record.rooms = ParseRooms(value);
          } else if (name == "owner") {
            record.owner = std::string(value);
          } else if (name == "suspended") {
            (void)absl::SimpleAtoi(ToAbsl(value), &suspended);
          } else if (name == "joined_epoch") {
            record.joined.epoch = std::string(value);
          } else if (name == "joined_offset") {
            (void)absl::SimpleAtoi(ToAbsl(value), &record.joined.offset);
          }
        }
        // A connected one is claimable too: its client is back before
        // its node noticed it had gone, or its node died.
        if (record.sid.empty() || (suspended != 0 && UnixMillis() - suspended > window_.count())) {
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
                          : window_.count() - (UnixMillis() - record.suspended_ms);
  if (ttl <= 0) {
    return;
  }
  redis_.Eval(RestoreLua(), {redis_.keys().Session(record.nsp, record.pid)},
              {record.sid, record.user_id, RoomsJson(record.rooms), record.owner,
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
