#pragma once

// The Lua scripts behind the cluster's atomic operations, and the Redis key
// layout they share (docs/SCALING.md, "Redis keys"). Every key starts with
// the cluster prefix P (default "nself:"), passed to each script as ARGV[1]:
//
//   P bus                      pub/sub channel of ClusterBus
//   P nodes                    set: ids of registered nodes
//   P node:<id>                string: the node's heartbeat JSON, PX = TTL
//   P seq:<channel>            ephemeral channel's last seq (INCR)
//   P presence:<channel>       hash user -> "status\nmeta-json"
//   P pcount:<channel>         hash user -> connections on all nodes
//   P pconn:<channel>          hash "<node>\n<user>" -> connections on that node
//   P node-channels:<node>     set: channels where the node has presence entries
//   P uconn:<user>             hash node -> the user's connections on it
//   P node-users:<node>        set: users the node counts connections for
//   P rate:<user>              hash tokens, ts (token bucket, Redis' clock)
//
// Scripts compute key names from ARGV, which standalone Redis (and a
// Sentinel-managed primary) allows; Redis Cluster is not supported.
//
// Thread safety: the accessors are safe from any thread (function statics).

#include "cluster/redis_client.hpp"

namespace nself::cluster::scripts {

// ARGV: P, node, channel, user, status, meta -> {joined 0|1, member "status\nmeta", total}
const RedisScript& presence_join();
// ARGV: P, node, channel, user -> {left 0|1, remaining total} ({0,-1}: not counted here)
const RedisScript& presence_leave();
// ARGV: P, channel, user, status, has_meta 0|1, meta -> {member, total} or nil (not a member)
const RedisScript& presence_update();
// ARGV: P, channel -> {HGETALL presence, HGETALL pconn}
const RedisScript& presence_members();
// ARGV: P, node, then 5 per entry: channel, user, connections, status, meta
// -> {joined flat (channel, user, member)..., left flat (channel, user)...}
const RedisScript& presence_sync_node();
// ARGV: P, node -> flat (channel, user) of the members that left; also drops
// the node's connection counts (limits) and its registration.
const RedisScript& remove_node();
// ARGV: P, self -> flat: for each node but `self` whose heartbeat key
// expired, its id and the number of (channel, user) pairs that follow, then
// those pairs. Each dead node is reported to exactly one caller (SREM
// decides). A node never reaps itself: its late heartbeat repairs its key.
const RedisScript& reap_dead_nodes();
// ARGV: P, node, json, ttl_ms -> 1 when the node was (re)added to P nodes.
const RedisScript& heartbeat();
// ARGV: P, node, user, max -> {admitted 0|1, total}
const RedisScript& acquire_connection();
// ARGV: P, node, user -> 1 when a connection was counted and released
const RedisScript& release_connection();
// ARGV: P, node, then pairs user, connections -> 1
const RedisScript& limits_sync_node();
// ARGV: P, user, rate -> {allowed 0|1, tokens left (floored)}
const RedisScript& take_message_token();
// ARGV: P, channel, floor -> the next seq, > floor
const RedisScript& next_ephemeral_seq();

}  // namespace nself::cluster::scripts
