#pragma once

namespace roomcast::broker {

// Connection state recovery's sessions in Redis: one hash per session
// (sid, user, rooms as JSON, owner, suspended (Unix ms, 0 = connected),
// joined_epoch, joined_offset). Every change but Save is made only by the
// incarnation that owns it, so an older node noticing a disconnect late
// never undoes a newer recovery.

// KEYS[1] the session, KEYS[2] its namespace's {epoch, seq} hash;
// ARGV sid, user, rooms, owner, ttl (ms). Where it joined is the log's head.
inline constexpr char kSaveSessionScript[] = R"lua(
local head = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'user', ARGV[2], 'rooms', ARGV[3], 'owner', ARGV[4],
           'suspended', '0', 'joined_epoch', head[1] or '', 'joined_offset', head[2] or '0')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
)lua";

// KEYS[1] the session; ARGV owner, rooms, and for a suspension the time
// (ms) and the recovery window (ms).
inline constexpr char kUpdateSessionScript[] = R"lua(
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
if ARGV[3] then
  redis.call('HSET', KEYS[1], 'rooms', ARGV[2], 'suspended', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'rooms', ARGV[2])
end
return 1
)lua";

// KEYS[1] the session; ARGV owner.
inline constexpr char kDropSessionScript[] = R"lua(
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
)lua";

// KEYS[1] the session: its fields, and it is gone (claimed once).
inline constexpr char kClaimSessionScript[] = R"lua(
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return fields
)lua";

// KEYS[1] the session; ARGV sid, user, rooms, owner, suspended,
// joined_epoch, joined_offset, ttl (ms). Only if nothing took its place.
inline constexpr char kRestoreSessionScript[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'user', ARGV[2], 'rooms', ARGV[3], 'owner', ARGV[4],
           'suspended', ARGV[5], 'joined_epoch', ARGV[6], 'joined_offset', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 1
)lua";

}  // namespace roomcast::broker
