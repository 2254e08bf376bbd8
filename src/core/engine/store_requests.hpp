#pragma once

// The store work the engine asks for, and the answers it gets back, as plain
// values (core includes nothing from store/: src/store/engine_jobs.cpp runs
// them against a store::Store).
//
// Classes (docs/ENGINE_DESIGN.md, "Store work"): the worker serves commits
// before reads before bookkeeping, and bounds each class. A job refused
// because its class is full is answered with failure "overloaded"; a store
// that fails answers "unavailable". Bookkeeping jobs get no answer.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/channel.hpp"
#include "core/engine/clock.hpp"
#include "core/engine/events.hpp"
#include "core/engine/ids.hpp"

namespace nself::core::engine {

enum class StoreClass { kCommit, kRead, kBookkeeping };

struct ChannelInfo {
  std::string id;  // UUID
  std::string slug;
  ChannelType type = ChannelType::kPublic;
  bool persistent = true;
  int max_members = 100;
  bool archived = false;
  std::int64_t last_seq = 0;
};

// A user's membership row in a channel.
struct Membership {
  bool can_send = true;
  std::int64_t last_read_seq = 0;
};

// ---- requests with an answer
struct ResolveChannel {  // a slug or a UUID
  std::string name;
};
struct ReadForSubscribe {
  std::string channel_id;
  std::string user_id;
  std::optional<std::int64_t> history;  // the last N messages
  std::optional<std::int64_t> since;    // messages with seq > since (at most 1000)
  // Bookkeeping done in the same job: realtime.subscriptions row.
  std::string connection_public_id;
};
struct ReadAccess {
  std::string channel_id;
  std::string user_id;
};
struct AppendMessage {
  std::string channel_id;
  std::string user_id;
  std::string content_json;
};
struct ReadHistory {
  std::string channel_id;
  std::int64_t limit = 50;
  std::optional<std::int64_t> before;  // the newest `limit` with seq < before
  std::optional<std::int64_t> after;   // the oldest `limit` with seq > after
};
struct MarkRead {
  std::string channel_id;
  std::string user_id;
  std::int64_t seq = 0;
};

// ---- bookkeeping (no answer)
struct RecordConnection {
  std::string connection_public_id;
  std::string user_id;
  std::string client_ip;
  std::string user_agent;
  WallTime at{};
};
struct RecordDisconnect {
  std::string connection_public_id;
  WallTime at{};
};
struct RemoveSubscription {
  std::string connection_public_id;
  std::string channel_id;
};
struct PresenceRow {
  std::string user_id;
  std::string channel_id;
  bool away = false;
  bool offline = false;
  std::string meta_json = "{}";
};
struct WritePresence {
  std::vector<PresenceRow> rows;
  WallTime at{};
  // The heartbeat's cleanup (today's cleanup_stale_presence), after the rows
  // are written: delete presence rows not written since then (a server that
  // died, users long gone). None: no cleanup.
  std::optional<WallTime> remove_stale_before;
};
struct Heartbeat {  // refreshes last_seen_at of these connections
  std::vector<std::string> connection_public_ids;
  WallTime at{};
};
struct AuditAuthFailure {
  std::string actor;
  std::string code;
  WallTime at{};
};

using StoreRequest = std::variant<ResolveChannel, ReadForSubscribe, ReadAccess, AppendMessage,
                                  ReadHistory, MarkRead, RecordConnection, RecordDisconnect,
                                  RemoveSubscription, WritePresence, Heartbeat, AuditAuthFailure>;

StoreClass class_of(const StoreRequest& request);

struct StoreJob {
  ShardIndex origin = 0;    // the shard its answer goes to
  std::uint64_t token = 0;  // 0: no answer wanted
  StoreRequest request;
};

// ---- answers
struct ChannelAnswer {  // ResolveChannel, ReadAccess
  std::optional<ChannelInfo> channel;
  std::optional<Membership> membership;
};
struct SubscribeAnswer {
  std::optional<ChannelInfo> channel;
  std::optional<Membership> membership;
  std::vector<MessageRecord> messages;  // oldest first
  bool replay = false;                  // history or since was asked
  bool has_more = false;
};
struct AppendAnswer {
  MessageRecord message;
};
struct HistoryAnswer {
  std::vector<MessageRecord> messages;
  bool has_more = false;
};
struct Done {};

struct StoreReply {
  std::uint64_t token = 0;
  // Set when the job did not run: "unavailable" or "overloaded".
  std::optional<std::string> failure;
  std::variant<Done, ChannelAnswer, SubscribeAnswer, AppendAnswer, HistoryAnswer> answer;
};

}  // namespace nself::core::engine
