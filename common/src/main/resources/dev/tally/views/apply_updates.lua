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
--
-- The served fields are kept merged incrementally: replacing one writer's partial adds the
-- difference to a sum, and raises a max (lowers a min). That is exact because a writer's partial
-- only ever grows its max and shrinks its min: each version folds more of that writer's events.

local channel = ARGV[1]
local applied = 0
local changed = {}

local function parse(partial)
  local fields = {}
  for op, field, value in string.gmatch(partial, '(%a+):([^=;]+)=([^;]*)') do
    fields[#fields + 1] = {op, field, tonumber(value)}
  end
  return fields
end

local n = #KEYS / 3
for i = 1, n do
  local entry = KEYS[3 * i - 2]
  local base = 1 + 4 * (i - 1)
  local writerField = '_w:' .. ARGV[base + 1]
  local version = tonumber(ARGV[base + 2])
  local partial = ARGV[base + 3]
  local rank = ARGV[base + 4]

  local stored = redis.call('HGET', entry, writerField)
  local storedVersion = -1
  local old = {}
  if stored then
    local v, p = string.match(stored, '^(%d+);(.*)$')
    storedVersion = tonumber(v)
    for _, f in ipairs(parse(p)) do old[f[2]] = f[3] end
  end

  if version > storedVersion then
    applied = applied + 1
    local new = parse(partial)
    local names = {'_v'}
    for _, f in ipairs(new) do names[#names + 1] = f[2] end
    local served = redis.call('HMGET', entry, unpack(names))

    local servedVersion = tonumber(served[1] or '0') + version - math.max(storedVersion, 0)
    local updates = {writerField, version .. ';' .. partial, '_v', string.format('%.0f', servedVersion)}
    local merged = {}
    local differs = false
    for j, f in ipairs(new) do
      local op, field, value = f[1], f[2], f[3]
      local current = tonumber(served[j + 1])
      local result
      if current == nil then
        result = value
      elseif op == 'sum' then
        result = current - (old[field] or 0) + value
      elseif op == 'max' then
        result = math.max(current, value)
      else
        result = math.min(current, value)
      end
      merged[field] = result
      local text = string.format('%.0f', result)
      if served[j + 1] ~= text then differs = true end
      updates[#updates + 1] = field
      updates[#updates + 1] = text
    end
    redis.call('HSET', entry, unpack(updates))

    if rank ~= '' then
      local rankField, member = string.match(rank, '^([^|]+)|(.*)$')
      redis.call('ZADD', KEYS[3 * i - 1], merged[rankField], member)
    end
    if differs then
      changed[#changed + 1] = entry
      -- What depends on the entry: a cached rendering of its ranking (e.g. a top-N page).
      if rank ~= '' then
        redis.call('DEL', KEYS[3 * i])
      end
    end
  end
end

if #changed > 0 then
  redis.call('PUBLISH', channel, table.concat(changed, '\n'))
end
return {applied, #changed}
