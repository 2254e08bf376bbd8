#pragma once

// Who is present in each presence channel (docs/PROTOCOL.md, "presence"):
// per channel, the users subscribed with their number of connections, status,
// metadata and last activity. Pure: the caller passes the time in and turns
// the returned changes into events and store writes.
//
// - A user joins a channel when its first connection subscribes and leaves
//   when its last one unsubscribes or disconnects: two tabs are one member.
// - Activity is per user (any client frame of any of its connections) and
//   counts for every channel the user is in.
// - A member idle for `away_after` becomes away automatically; activity makes
//   an automatically away member online again. A member who asked for "away"
//   stays away until it asks for "online".
//
// Thread safety: none; owned by the loop thread.

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nself::core {

enum class PresenceState { kOnline, kAway };
std::string_view to_string(PresenceState state);

struct PresenceMember {
  std::string user_id;
  PresenceState status = PresenceState::kOnline;
  std::optional<std::string> meta_json;  // a JSON object, or none
  std::chrono::sys_time<std::chrono::milliseconds> last_active{};
  int connections = 0;
  bool auto_away = false;  // away because idle, not because the user asked
};

// A member whose status changed without a request (automatic away / back online).
struct PresenceChange {
  std::string channel_id;
  PresenceMember member;
};

class PresenceTracker {
 public:
  using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

  // One more connection of `user_id` in `channel_id`. Returns the new member
  // when this is the user's first connection there (a join), else none.
  std::optional<PresenceMember> join(const std::string& channel_id, const std::string& user_id,
                                     Timestamp now);
  // One connection fewer. True when it was the user's last one (a leave).
  // Leaving a channel one is not in returns false.
  bool leave(const std::string& channel_id, const std::string& user_id);

  // Sets status and (when given) metadata; an absent meta keeps the current
  // one. Returns the updated member, or none when the user is not in the channel.
  std::optional<PresenceMember> update(const std::string& channel_id, const std::string& user_id,
                                       PresenceState status, std::optional<std::string> meta_json,
                                       Timestamp now);

  // Activity of `user_id`: last_active = now in every channel; returns the
  // members that were automatically away and are online again.
  std::vector<PresenceChange> touch(const std::string& user_id, Timestamp now);
  // The same for one channel only (the engine's channel owners see activity
  // per channel): the member when it was automatically away and is online
  // again, else none (also when the user is not in the channel).
  std::optional<PresenceMember> touch(const std::string& channel_id, const std::string& user_id,
                                      Timestamp now);

  // Members online and idle for at least `away_after` (now - last_active)
  // become away; returns them.
  std::vector<PresenceChange> expire_idle(Timestamp now, std::chrono::milliseconds away_after);

  // The members of a channel, by user id.
  std::vector<PresenceMember> members(const std::string& channel_id) const;
  const PresenceMember* find(const std::string& channel_id, const std::string& user_id) const;
  // Every member of every channel (for the periodic store refresh).
  std::vector<PresenceChange> all() const;

 private:
  std::unordered_map<std::string, std::unordered_map<std::string, PresenceMember>> channels_;
  std::unordered_map<std::string, std::vector<std::string>> user_channels_;  // user -> channels
};

}  // namespace nself::core
