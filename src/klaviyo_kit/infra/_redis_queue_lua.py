"""Lua scripts of ``RedisQueue``: each queue transition is one atomic script on Redis TIME.

KEYS, in order: 1 ``visible`` (ZSET id -> visible-at ms), 2 ``payload`` (HASH id -> JSON),
3 ``attempts`` (HASH), 4 ``token`` (HASH id -> current reservation), 5 ``keyof`` (HASH id ->
idempotency key), 6 ``keys`` (HASH key -> pending id), 7 ``dead`` (ZSET id -> failed-at ms),
8 ``error`` (HASH id -> last error), 9 ``seq`` (counter of ids: equal scores sort by id, so
items enqueued in the same millisecond keep their order). Every key shares one hash tag, so a
cluster keeps them on one slot.
"""

from __future__ import annotations

_COMMON = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function free_key(id)
  local key = redis.call('HGET', KEYS[5], id)
  if key and redis.call('HGET', KEYS[6], key) == id then redis.call('HDEL', KEYS[6], key) end
end
local function bury(id, err)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[4], id)
  free_key(id)
  redis.call('ZADD', KEYS[7], now, id)
  redis.call('HSET', KEYS[8], id, err)
end
"""

ENQUEUE = (
    _COMMON
    + """
local key = ARGV[3]
if key ~= '' then
  local existing = redis.call('HGET', KEYS[6], key)
  if existing then return existing end
end
local max = tonumber(ARGV[5])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return false end
local id = string.format('%016x', redis.call('INCR', KEYS[9]))
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('HSET', KEYS[3], id, 0)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), id)
if key ~= '' then
  redis.call('HSET', KEYS[6], key, id)
  redis.call('HSET', KEYS[5], id, key)
end
return id
"""
)

RESERVE = (
    _COMMON
    + """
local timeout, n, max_attempts = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out, seq = {}, 0
while #out < n do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n - #out)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local attempts = tonumber(redis.call('HGET', KEYS[3], id) or '0')
    if attempts >= max_attempts then
      bury(id, 'visibility timeout expired after ' .. attempts .. ' attempts')
    else
      attempts = attempts + 1
      seq = seq + 1
      local token = ARGV[4] .. seq
      redis.call('HSET', KEYS[3], id, attempts)
      redis.call('HSET', KEYS[4], id, token)
      redis.call('ZADD', KEYS[1], now + timeout, id)
      local key = redis.call('HGET', KEYS[5], id) or ''
      out[#out + 1] = {id, token, attempts, redis.call('HGET', KEYS[2], id), key}
    end
  end
end
return out
"""
)

ACK = (
    _COMMON
    + """
local id, token = ARGV[1], ARGV[2]
if token == '' or redis.call('HGET', KEYS[4], id) ~= token then return 0 end
redis.call('ZREM', KEYS[1], id)
free_key(id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[8], id)
return 1
"""
)

NACK = (
    _COMMON
    + """
local id, token = ARGV[1], ARGV[2]
if token == '' or redis.call('HGET', KEYS[4], id) ~= token then return 0 end
if tonumber(redis.call('HGET', KEYS[3], id)) >= tonumber(ARGV[5]) then
  bury(id, ARGV[3])
  return 2
end
redis.call('HDEL', KEYS[4], id)
redis.call('HSET', KEYS[8], id, ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), id)
return 1
"""
)

RELEASE = (
    _COMMON
    + """
local id, token = ARGV[1], ARGV[2]
if token == '' or redis.call('HGET', KEYS[4], id) ~= token then return 0 end
local attempts = tonumber(redis.call('HGET', KEYS[3], id) or '0')
redis.call('HSET', KEYS[3], id, math.max(attempts - 1, 0))
redis.call('HDEL', KEYS[4], id)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
return 1
"""
)

REPLAY = (
    _COMMON
    + """
local ids = ARGV
if #ids == 0 then ids = redis.call('ZRANGE', KEYS[7], 0, -1) end
local n = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[7], id) == 1 then
    redis.call('HSET', KEYS[3], id, 0)
    redis.call('HDEL', KEYS[8], id)
    redis.call('ZADD', KEYS[1], now, id)
    local key = redis.call('HGET', KEYS[5], id)
    if key then
      if redis.call('HEXISTS', KEYS[6], key) == 1 then
        redis.call('HDEL', KEYS[5], id)
      else
        redis.call('HSET', KEYS[6], key, id)
      end
    end
    n = n + 1
  end
end
return n
"""
)

PURGE = (
    _COMMON
    + """
local ids = ARGV
if #ids == 0 then ids = redis.call('ZRANGE', KEYS[7], 0, -1) end
local n = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[7], id) == 1 then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[5], id)
    redis.call('HDEL', KEYS[8], id)
    n = n + 1
  end
end
return n
"""
)
