--[[
  acquireLeader: leadership of a shard kept in Redis (outside Kubernetes). The holder renews;
  anyone takes a free (expired) lease, and taking it increments the shard epoch, which fences
  off every write of the previous leader.

  KEYS[1] leader lease key  KEYS[2] epoch

  ARGV[1] holder identity  ARGV[2] lease duration ms

  Returns {1, epoch} when the caller holds the lease after the call, {0, current holder} if not.
]]
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, redis.call('GET', KEYS[2])}
end
if holder then return {0, holder} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, tostring(redis.call('INCR', KEYS[2]))}
