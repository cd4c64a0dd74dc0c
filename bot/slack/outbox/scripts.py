"""The outbox's Lua scripts: each step of a thread changes Redis atomically, fenced by the lease."""

# KEYS: meta, queue, seen. ARGV: channel, render, touch, ttl, root_ts (adopt a root posted elsewhere),
# then (op id, op json) pairs.
PUSH = """
redis.call('HSETNX', KEYS[1], 'channel', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSETNX', KEYS[1], 'render', ARGV[2]) end
if ARGV[5] ~= '' then redis.call('HSETNX', KEYS[1], 'root_ts', ARGV[5]) end
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'ver', 1) end
local added = 0
for i = 6, #ARGV, 2 do
  if redis.call('SADD', KEYS[3], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    added = added + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return added
"""

# KEYS: meta, lease. ARGV: owner, marker, kind, n, since, ver
MARK = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'inflight', ARGV[2], 'inflight_kind', ARGV[3], 'inflight_n', ARGV[4],
           'inflight_since', ARGV[5], 'inflight_ver', ARGV[6])
return 1
"""

# KEYS: meta, queue, lease. ARGV: owner, kind, ts, n, ver
COMMIT = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'root' then
  redis.call('HSET', KEYS[1], 'root_ts', ARGV[3])
elseif ARGV[2] == 'reply' then
  redis.call('LTRIM', KEYS[2], tonumber(ARGV[4]), -1)
  redis.call('HSET', KEYS[1], 'last_reply_ts', ARGV[3])
end
if ARGV[2] == 'root' or ARGV[2] == 'update' then
  local cur = tonumber(redis.call('HGET', KEYS[1], 'rendered') or '0')
  if tonumber(ARGV[5]) > cur then redis.call('HSET', KEYS[1], 'rendered', ARGV[5]) end
end
redis.call('HDEL', KEYS[1], 'inflight', 'inflight_kind', 'inflight_n', 'inflight_since', 'inflight_ver',
           'fails')
return 1
"""

# KEYS: lease. ARGV: owner, ms
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
