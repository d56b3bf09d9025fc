"""The Lua scripts of :class:`~klaviyo_kit.resilience.RedisRateLimiter`.

Every key a script touches is passed in ``KEYS`` and shares one hash tag, so Redis Cluster keeps
a bucket on one slot. Redis's ``TIME`` is the only clock: callers on many machines agree on it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FEEDBACK", "TAKE"]

TAKE: Final = """
-- KEYS: one sorted set per window, then the pause key, then the cap key.
-- ARGV: cost, member prefix, window count, then (length in microseconds, limit) per window.
-- Returns 0 when the permits were taken, else microseconds to wait before trying again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local pause_key = KEYS[n + 1]
local cap_key = KEYS[n + 2]
local wait = 0
local paused = redis.call('PTTL', pause_key)
if paused > 0 then wait = paused * 1000 end
local cap = redis.call('GET', cap_key)
if cap and tonumber(cap) < cost then
  local capped = redis.call('PTTL', cap_key)
  if capped > 0 and capped * 1000 > wait then wait = capped * 1000 end
end
for i = 1, n do
  local length = tonumber(ARGV[2 + 2 * i])
  local limit = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - length)
  local excess = redis.call('ZCARD', KEYS[i]) + cost - limit
  if excess > 0 then
    local oldest = redis.call('ZRANGE', KEYS[i], excess - 1, excess - 1, 'WITHSCORES')
    local free_in = tonumber(oldest[2]) + length - now
    if free_in > wait then wait = free_in end
  end
end
if wait > 0 then return math.ceil(wait) end
for i = 1, n do
  local length = tonumber(ARGV[2 + 2 * i])
  local args = {}
  for k = 1, cost do
    args[2 * k - 1] = now
    args[2 * k] = ARGV[2] .. ':' .. k
  end
  redis.call('ZADD', KEYS[i], unpack(args))
  redis.call('PEXPIRE', KEYS[i], math.ceil(length / 1000) + 1000)
end
if cap then redis.call('DECRBY', cap_key, cost) end
return 0
"""

FEEDBACK: Final = """
-- KEYS[1]: the pause key or the cap key.  ARGV: mode ('pause' or 'cap'), milliseconds, remaining.
-- A pause is only ever lengthened; a cap is only ever lowered while it lasts.
local ms = tonumber(ARGV[2])
if ARGV[1] == 'pause' then
  if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
  return 1
end
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) <= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ms)
return 1
"""
