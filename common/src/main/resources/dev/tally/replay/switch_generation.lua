-- Flips the served generation, atomically and only from the expected one (compare-and-set).
-- KEYS[1] tally:generation
-- ARGV[1] the generation expected to be served, ARGV[2] the one to serve,
-- ARGV[3] the invalidation channel
-- Returns the new generation; an error naming the served one when it is not the expected one.
local current = redis.call('GET', KEYS[1]) or '1'
if current ~= ARGV[1] then
  return redis.error_reply('served generation is ' .. current .. ', not ' .. ARGV[1])
end
redis.call('SET', KEYS[1], ARGV[2])
-- Readers that cache anything drop it all when the pointer key itself is announced.
redis.call('PUBLISH', ARGV[3], KEYS[1])
return tonumber(ARGV[2])
