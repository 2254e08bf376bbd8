#pragma once

// Role C's state (channels.hpp): what one shard knows of the channels it
// owns. Internal to src/core/engine/channels*.cpp and its feature files.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "core/engine/channels.hpp"
#include "core/presence_tracker.hpp"

namespace nself::core::engine {

// A store answer about one connection's access to a channel (issue 15 item
// 6: resolved once per connection, so a new connection reads the database
// again), trusted until `expires` (options.access_ttl) or until the API
// changes the user's membership or the channel. Only answers that let the
// user in are kept: a refusal is asked again, so that a member added
// meanwhile gets in at once.
struct AccessEntry {
  std::string user_id;
  ChannelAnswer answer;
  SteadyTime expires{};
};

// A request that needs the user's access first, waiting for a ReadAccess of
// that (channel, user); they run in arrival order once it is answered.
struct MessageJob {
  Asker asker;
  ChannelInfo channel;
  std::string content_json;
};
struct RecheckJob {
  Asker asker;
  ChannelInfo channel;
};
using AccessJob = std::variant<MessageJob, HistoryOfChannel, ReadOfChannel, RecheckJob>;

struct Typist {
  std::string user_id;
  SteadyTime expires{};
};

struct ChannelState {
  ChannelInfo info;  // the freshest row seen (store answers, L's resolve)
  // Subscribed connections (joined here) and their user; per loop and per
  // user counts for the fan-out and max_members.
  std::unordered_map<ConnectionId, std::string> connections;
  std::unordered_map<std::string, int> users;
  std::map<ShardIndex, int> per_loop;  // ordered: fan-out goes to loops in index order
  std::int64_t ephemeral_seq = 0;
  std::unordered_map<std::string, Typist> typing;                  // user id -> expiry
  std::unordered_map<ConnectionId, AccessEntry> access;            // connection ->
  std::unordered_map<std::string, std::deque<AccessJob>> waiting;  // user id ->
};

// ---- what a store token is waiting for
struct PendingJoin {
  JoinChannel join;
  bool cancelled = false;  // the connection left before the answer
};
struct PendingAccess {
  std::string channel_id;
  std::string user_id;
};
struct PendingAppend {
  ChannelInfo channel;
  std::optional<Asker> sender;              // a client's message: ack or error to it
  std::optional<std::uint64_t> request_id;  // AdminPublish: AdminDone
};
struct PendingHistory {
  Asker asker;
  std::string slug;
  bool forward = false;  // `after`: the page keeps the oldest
};
struct PendingRead {
  Asker asker;
};
using PendingStore =
    std::variant<PendingJoin, PendingAccess, PendingAppend, PendingHistory, PendingRead>;

// The feature files' free functions take this (Channels::State is private).
struct ChannelsState {
  std::unordered_map<std::string, ChannelState> channels;  // channel id ->
  // Archived while this process runs (a resolve may predate the archive).
  std::unordered_set<std::string> archived;
  // Deleted while this process runs: a subscribe answered after the delete
  // must not join a channel whose subscribers were dropped.
  std::unordered_set<std::string> deleted;
  core::PresenceTracker presence;
  std::unordered_map<std::uint64_t, PendingStore> pending;  // store token ->
  std::optional<SteadyTime> last_presence_refresh;
  std::uint64_t message_serial = 0;  // ephemeral message ids
};

struct Channels::State : ChannelsState {};

}  // namespace nself::core::engine
