--[[
  releaseRoute: forgets where a shard's leader serves its API (the routes hash that replicas
  forward calls by) if the entry is still the caller's, when the caller stops leading the shard.
  Peers then stop sending the shard's calls, and their leases, to an address that is going away;
  a successor's entry, written when it took the shard, is left alone.

  KEYS[1] routes hash

  ARGV[1] shard  ARGV[2] the caller's entry ("<identity> <address> <epoch>": the epoch tells
  this leadership's entry from a later one of the same replica)

  Returns 1 if removed, 0 if the entry was not the caller's.
]]
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
