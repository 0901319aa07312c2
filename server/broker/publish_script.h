#pragma once

namespace roomcast::broker {

// Logs and publishes one event atomically, so no node delivers an event the
// log lacks and a repeated idempotency key answers the same position on
// every node.
//   KEYS[1] the namespace's {epoch, seq} hash, KEYS[2] its stream,
//   KEYS[3] the idempotency key (optional)
//   ARGV[1] mode: "log" (number and keep it), "volatile" (neither),
//           "logged" (PostgreSQL numbered it: ARGV[6] is its offset and
//           ARGV[3] its epoch; only the hash's head follows it)
//   ARGV[2] stream length, ARGV[3] an epoch for a new log, ARGV[4]
//   idempotency window (ms), ARGV[5] the message body, ARGV[6] the offset
//   ("logged" only), ARGV[7..] the channels (SPUBLISH)
// Returns {duplicate (0|1), offset, epoch}. The epoch and the sequence share
// one hash, so a log that is lost is lost whole and comes back under a new
// epoch (a stream left without its hash belongs to the old one).
inline constexpr char kPublishScript[] = R"lua(
if KEYS[3] then
  local seen = redis.call('HMGET', KEYS[3], 'offset', 'epoch')
  if seen[1] then
    return {1, tonumber(seen[1]), seen[2]}
  end
end
local offset = 0
local epoch = ''
if ARGV[1] == 'log' then
  epoch = redis.call('HGET', KEYS[1], 'epoch')
  if not epoch then
    epoch = ARGV[3]
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'epoch', epoch)
  end
  offset = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-1', 'm', ARGV[5])
elseif ARGV[1] == 'logged' then
  epoch = ARGV[3]
  offset = tonumber(ARGV[6])
  local head = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
  if head[1] ~= epoch or tonumber(head[2] or '0') < offset then
    redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', offset)
  end
end
local message = cmsgpack.pack(offset) .. cmsgpack.pack(epoch) .. ARGV[5]
for i = 7, #ARGV do
  redis.call('SPUBLISH', ARGV[i], message)
end
if KEYS[3] then
  redis.call('HSET', KEYS[3], 'offset', offset, 'epoch', epoch)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return {0, offset, epoch}
)lua";

}  // namespace roomcast::broker
