-- Applies a batch of view updates atomically. One call per batch (per cluster slot in cluster
-- mode), never one per update. See docs/views.md for the key layout and value encoding.
--
-- KEYS: for update i, KEYS[3i-2] is the entry hash, KEYS[3i-1] the sorted set it ranks in and
--       KEYS[3i] that set's cached rendering, which a change invalidates (both the entry key
--       again when it ranks nowhere). All keys of one call share a hash tag.
-- ARGV[1]: the invalidation channel.
-- ARGV for update i, from 2 + 4(i-1):
--   +1 writer   who wrote this partial (a job and its lane): partials of different writers merge
--   +2 version  this writer's version for the entry: applied only when greater than the stored one
--   +3 partial  the writer's whole partial value, "op:field=value;op:field=value" with op in
--               sum|max|min and integer values
--   +4 rank     "field|member" to rank the merged entry in KEYS[3i-1] by field, or ""
-- Returns {applied, changed}: updates that were newer, and entries whose served value changed.

local channel = ARGV[1]
local applied = 0
local changed = {}

local function merge(hash)
  -- Merges every writer's partial ("_w:<writer>" = "<version>;<partial>") into served fields.
  local merged = {}
  local version = 0
  for j = 1, #hash, 2 do
    local name = hash[j]
    if string.sub(name, 1, 3) == '_w:' then
      local writerVersion, partial = string.match(hash[j + 1], '^(%d+);(.*)$')
      version = version + tonumber(writerVersion)
      for op, field, value in string.gmatch(partial, '(%a+):([^=;]+)=([^;]*)') do
        local number = tonumber(value)
        local current = merged[field]
        if current == nil then
          merged[field] = number
        elseif op == 'sum' then
          merged[field] = current + number
        elseif op == 'max' then
          if number > current then merged[field] = number end
        elseif op == 'min' then
          if number < current then merged[field] = number end
        end
      end
    end
  end
  return merged, version
end

local n = #KEYS / 3
for i = 1, n do
  local entry = KEYS[3 * i - 2]
  local rankKey = KEYS[3 * i - 1]
  local cacheKey = KEYS[3 * i]
  local base = 1 + 4 * (i - 1)
  local writer = ARGV[base + 1]
  local version = tonumber(ARGV[base + 2])
  local partial = ARGV[base + 3]
  local rank = ARGV[base + 4]
  local writerField = '_w:' .. writer

  local stored = redis.call('HGET', entry, writerField)
  local storedVersion = -1
  if stored then
    storedVersion = tonumber(string.match(stored, '^(%d+);'))
  end

  if version > storedVersion then
    applied = applied + 1
    local before = redis.call('HGETALL', entry)
    local previous = {}
    for j = 1, #before, 2 do
      previous[before[j]] = before[j + 1]
    end
    redis.call('HSET', entry, writerField, version .. ';' .. partial)
    local merged, servedVersion = merge(redis.call('HGETALL', entry))

    local fields = {'_v', string.format('%.0f', servedVersion)}
    local differs = false
    for field, number in pairs(merged) do
      local text = string.format('%.0f', number)
      fields[#fields + 1] = field
      fields[#fields + 1] = text
      if previous[field] ~= text then differs = true end
    end
    redis.call('HSET', entry, unpack(fields))

    if rank ~= '' then
      local rankField, member = string.match(rank, '^([^|]+)|(.*)$')
      redis.call('ZADD', rankKey, merged[rankField], member)
    end
    if differs then
      changed[#changed + 1] = entry
      -- What depends on the entry: a cached rendering of its ranking (e.g. a top-N page).
      if rank ~= '' then
        redis.call('DEL', cacheKey)
      end
    end
  end
end

if #changed > 0 then
  redis.call('PUBLISH', channel, table.concat(changed, '\n'))
end
return {applied, #changed}
