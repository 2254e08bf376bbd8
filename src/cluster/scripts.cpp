#include "cluster/scripts.hpp"

#include <string>

namespace nself::cluster::scripts {
namespace {

// Shared by remove_node and reap_dead_nodes: removes every presence entry and
// connection count of `node`, returns the (channel, user) pairs that left.
constexpr const char* kRemoveNodeFunction = R"lua(
local function remove_node(p, node)
  local left = {}
  local index = p .. 'node-channels:' .. node
  local head = node .. '\n'
  for _, channel in ipairs(redis.call('SMEMBERS', index)) do
    local pconn = p .. 'pconn:' .. channel
    local flat = redis.call('HGETALL', pconn)
    for i = 1, #flat, 2 do
      local field = flat[i]
      if string.sub(field, 1, #head) == head then
        local user = string.sub(field, #head + 1)
        local count = tonumber(flat[i + 1])
        redis.call('HDEL', pconn, field)
        local total = redis.call('HINCRBY', p .. 'pcount:' .. channel, user, -count)
        if total <= 0 then
          redis.call('HDEL', p .. 'pcount:' .. channel, user)
          redis.call('HDEL', p .. 'presence:' .. channel, user)
          table.insert(left, channel)
          table.insert(left, user)
        end
      end
    end
  end
  redis.call('DEL', index)
  local users = p .. 'node-users:' .. node
  for _, user in ipairs(redis.call('SMEMBERS', users)) do
    redis.call('HDEL', p .. 'uconn:' .. user, node)
  end
  redis.call('DEL', users)
  return left
end
)lua";

}  // namespace

const RedisScript& presence_join() {
  static const RedisScript script(R"lua(
local p, node, channel, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HINCRBY', p .. 'pconn:' .. channel, node .. '\n' .. user, 1)
redis.call('SADD', p .. 'node-channels:' .. node, channel)
local total = redis.call('HINCRBY', p .. 'pcount:' .. channel, user, 1)
local key = p .. 'presence:' .. channel
local member = redis.call('HGET', key, user)
local joined = 0
if total == 1 or not member then
  member = ARGV[5] .. '\n' .. ARGV[6]
  redis.call('HSET', key, user, member)
  joined = 1
end
return {joined, member, total}
)lua");
  return script;
}

const RedisScript& presence_leave() {
  static const RedisScript script(R"lua(
local p, node, channel, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local pconn = p .. 'pconn:' .. channel
local field = node .. '\n' .. user
local count = tonumber(redis.call('HGET', pconn, field) or '0')
if count <= 0 then return {0, -1} end
if count == 1 then
  redis.call('HDEL', pconn, field)
else
  redis.call('HINCRBY', pconn, field, -1)
end
local total = redis.call('HINCRBY', p .. 'pcount:' .. channel, user, -1)
if total <= 0 then
  redis.call('HDEL', p .. 'pcount:' .. channel, user)
  redis.call('HDEL', p .. 'presence:' .. channel, user)
  return {1, 0}
end
return {0, total}
)lua");
  return script;
}

const RedisScript& presence_update() {
  static const RedisScript script(R"lua(
local p, channel, user = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'presence:' .. channel
local current = redis.call('HGET', key, user)
if not current then return false end
local newline = string.find(current, '\n', 1, true)
local meta = string.sub(current, newline + 1)
if ARGV[5] == '1' then meta = ARGV[6] end
local member = ARGV[4] .. '\n' .. meta
redis.call('HSET', key, user, member)
local total = tonumber(redis.call('HGET', p .. 'pcount:' .. channel, user) or '0')
return {member, total}
)lua");
  return script;
}

const RedisScript& presence_members() {
  static const RedisScript script(R"lua(
local p, channel = ARGV[1], ARGV[2]
return {redis.call('HGETALL', p .. 'presence:' .. channel),
        redis.call('HGETALL', p .. 'pconn:' .. channel)}
)lua");
  return script;
}

const RedisScript& presence_sync_node() {
  static const RedisScript script(R"lua(
local p, node = ARGV[1], ARGV[2]
local head = node .. '\n'
-- The node's entries now, from its index.
local old = {}
local index = p .. 'node-channels:' .. node
for _, channel in ipairs(redis.call('SMEMBERS', index)) do
  local flat = redis.call('HGETALL', p .. 'pconn:' .. channel)
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, #head) == head then
      old[channel .. '\n' .. string.sub(flat[i], #head + 1)] = tonumber(flat[i + 1])
    end
  end
end
-- The wanted entries.
local new = {}
local order = {}
for i = 3, #ARGV, 5 do
  local k = ARGV[i] .. '\n' .. ARGV[i + 1]
  if not new[k] then table.insert(order, k) end
  new[k] = {channel = ARGV[i], user = ARGV[i + 1], count = tonumber(ARGV[i + 2]),
            member = ARGV[i + 3] .. '\n' .. ARGV[i + 4]}
end
local joined, left = {}, {}
local function apply(channel, user, before, after, member)
  local pconn = p .. 'pconn:' .. channel
  if after > 0 then
    redis.call('HSET', pconn, head .. user, string.format('%d', after))
  else
    redis.call('HDEL', pconn, head .. user)
  end
  local delta = after - before
  if delta == 0 then return end
  local total = redis.call('HINCRBY', p .. 'pcount:' .. channel, user, delta)
  local presence = p .. 'presence:' .. channel
  if total <= 0 then
    redis.call('HDEL', p .. 'pcount:' .. channel, user)
    if total - delta > 0 then
      redis.call('HDEL', presence, user)
      table.insert(left, channel)
      table.insert(left, user)
    end
  elseif total - delta <= 0 then
    local current = redis.call('HGET', presence, user)
    if not current then
      redis.call('HSET', presence, user, member)
      current = member
    end
    table.insert(joined, channel)
    table.insert(joined, user)
    table.insert(joined, current)
  end
end
for k, count in pairs(old) do
  if not new[k] then
    local newline = string.find(k, '\n', 1, true)
    apply(string.sub(k, 1, newline - 1), string.sub(k, newline + 1), count, 0, '')
  end
end
redis.call('DEL', index)
for _, k in ipairs(order) do
  local entry = new[k]
  apply(entry.channel, entry.user, old[k] or 0, entry.count, entry.member)
  if entry.count > 0 then redis.call('SADD', index, entry.channel) end
end
return {joined, left}
)lua");
  return script;
}

const RedisScript& remove_node() {
  static const RedisScript script(std::string(kRemoveNodeFunction) + R"lua(
local p, node = ARGV[1], ARGV[2]
redis.call('SREM', p .. 'nodes', node)
redis.call('DEL', p .. 'node:' .. node)
return remove_node(p, node)
)lua");
  return script;
}

const RedisScript& reap_dead_nodes() {
  static const RedisScript script(std::string(kRemoveNodeFunction) + R"lua(
local p, self = ARGV[1], ARGV[2]
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if node ~= self and redis.call('EXISTS', p .. 'node:' .. node) == 0 then
    redis.call('SREM', p .. 'nodes', node)
    local left = remove_node(p, node)
    table.insert(out, node)
    table.insert(out, #left / 2)
    for _, value in ipairs(left) do table.insert(out, value) end
  end
end
return out
)lua");
  return script;
}

const RedisScript& heartbeat() {
  static const RedisScript script(R"lua(
local p, node = ARGV[1], ARGV[2]
redis.call('SET', p .. 'node:' .. node, ARGV[3], 'PX', ARGV[4])
return redis.call('SADD', p .. 'nodes', node)
)lua");
  return script;
}

const RedisScript& acquire_connection() {
  static const RedisScript script(R"lua(
local p, node, user = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'uconn:' .. user
local total = 0
for _, value in ipairs(redis.call('HVALS', key)) do total = total + tonumber(value) end
if total >= tonumber(ARGV[4]) then return {0, total} end
redis.call('HINCRBY', key, node, 1)
redis.call('SADD', p .. 'node-users:' .. node, user)
return {1, total + 1}
)lua");
  return script;
}

const RedisScript& release_connection() {
  static const RedisScript script(R"lua(
local p, node, user = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'uconn:' .. user
local count = tonumber(redis.call('HGET', key, node) or '0')
if count <= 0 then return 0 end
if count == 1 then
  redis.call('HDEL', key, node)
  redis.call('SREM', p .. 'node-users:' .. node, user)
else
  redis.call('HINCRBY', key, node, -1)
end
return 1
)lua");
  return script;
}

const RedisScript& limits_sync_node() {
  static const RedisScript script(R"lua(
local p, node = ARGV[1], ARGV[2]
local index = p .. 'node-users:' .. node
for _, user in ipairs(redis.call('SMEMBERS', index)) do
  redis.call('HDEL', p .. 'uconn:' .. user, node)
end
redis.call('DEL', index)
for i = 3, #ARGV, 2 do
  local count = tonumber(ARGV[i + 1])
  if count > 0 then
    redis.call('HSET', p .. 'uconn:' .. ARGV[i], node, string.format('%d', count))
    redis.call('SADD', index, ARGV[i])
  end
end
return 1
)lua");
  return script;
}

const RedisScript& take_message_token() {
  // Redis' own clock (TIME) so that every node's requests refill one bucket
  // at one rate; the key expires once the bucket would be full again.
  static const RedisScript script(R"lua(
local p, user, rate = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = p .. 'rate:' .. user
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or rate
local ts = tonumber(state[2]) or now
if now > ts then
  tokens = math.min(rate, tokens + (now - ts) * rate / 1000000)
  ts = now
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', key, 2000)
return {allowed, math.floor(tokens)}
)lua");
  return script;
}

const RedisScript& next_ephemeral_seq() {
  static const RedisScript script(R"lua(
local key = ARGV[1] .. 'seq:' .. ARGV[2]
local floor = tonumber(ARGV[3])
local seq = redis.call('INCR', key)
if seq <= floor then
  seq = floor + 1
  redis.call('SET', key, string.format('%d', seq))
end
return seq
)lua");
  return script;
}

}  // namespace nself::cluster::scripts
