#include "core/presence_tracker.hpp"

#include <algorithm>

namespace nself::core {

std::string_view to_string(PresenceState state) {
  return state == PresenceState::kAway ? "away" : "online";
}

std::optional<PresenceMember> PresenceTracker::join(const std::string& channel_id,
                                                    const std::string& user_id, Timestamp now) {
  auto& members = channels_[channel_id];
  auto [it, inserted] = members.try_emplace(user_id);
  PresenceMember& member = it->second;
  ++member.connections;
  if (!inserted) return std::nullopt;
  member.user_id = user_id;
  member.last_active = now;
  user_channels_[user_id].push_back(channel_id);
  return member;
}

bool PresenceTracker::leave(const std::string& channel_id, const std::string& user_id) {
  auto channel = channels_.find(channel_id);
  if (channel == channels_.end()) return false;
  auto member = channel->second.find(user_id);
  if (member == channel->second.end()) return false;
  if (--member->second.connections > 0) return false;
  channel->second.erase(member);
  if (channel->second.empty()) channels_.erase(channel);
  auto user = user_channels_.find(user_id);
  if (user != user_channels_.end()) {
    std::erase(user->second, channel_id);
    if (user->second.empty()) user_channels_.erase(user);
  }
  return true;
}

std::optional<PresenceMember> PresenceTracker::update(const std::string& channel_id,
                                                      const std::string& user_id,
                                                      PresenceState status,
                                                      std::optional<std::string> meta_json,
                                                      Timestamp now) {
  auto channel = channels_.find(channel_id);
  if (channel == channels_.end()) return std::nullopt;
  auto found = channel->second.find(user_id);
  if (found == channel->second.end()) return std::nullopt;
  PresenceMember& member = found->second;
  member.status = status;
  member.auto_away = false;
  if (meta_json) member.meta_json = std::move(meta_json);
  member.last_active = now;
  return member;
}

std::vector<PresenceChange> PresenceTracker::touch(const std::string& user_id, Timestamp now) {
  std::vector<PresenceChange> changes;
  auto user = user_channels_.find(user_id);
  if (user == user_channels_.end()) return changes;
  for (const std::string& channel_id : user->second) {
    PresenceMember& member = channels_[channel_id][user_id];
    member.last_active = now;
    if (member.auto_away) {
      member.auto_away = false;
      member.status = PresenceState::kOnline;
      changes.push_back({channel_id, member});
    }
  }
  return changes;
}

std::optional<PresenceMember> PresenceTracker::touch(const std::string& channel_id,
                                                     const std::string& user_id, Timestamp now) {
  auto channel = channels_.find(channel_id);
  if (channel == channels_.end()) return std::nullopt;
  auto found = channel->second.find(user_id);
  if (found == channel->second.end()) return std::nullopt;
  PresenceMember& member = found->second;
  member.last_active = now;
  if (!member.auto_away) return std::nullopt;
  member.auto_away = false;
  member.status = PresenceState::kOnline;
  return member;
}

std::vector<PresenceChange> PresenceTracker::expire_idle(Timestamp now,
                                                         std::chrono::milliseconds away_after) {
  std::vector<PresenceChange> changes;
  for (auto& [channel_id, members] : channels_) {
    for (auto& [user_id, member] : members) {
      if (member.status == PresenceState::kOnline && now - member.last_active >= away_after) {
        member.status = PresenceState::kAway;
        member.auto_away = true;
        changes.push_back({channel_id, member});
      }
    }
  }
  return changes;
}

std::vector<PresenceMember> PresenceTracker::members(const std::string& channel_id) const {
  std::vector<PresenceMember> list;
  auto channel = channels_.find(channel_id);
  if (channel == channels_.end()) return list;
  list.reserve(channel->second.size());
  for (const auto& [user_id, member] : channel->second) list.push_back(member);
  std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return a.user_id < b.user_id; });
  return list;
}

const PresenceMember* PresenceTracker::find(const std::string& channel_id,
                                            const std::string& user_id) const {
  auto channel = channels_.find(channel_id);
  if (channel == channels_.end()) return nullptr;
  auto member = channel->second.find(user_id);
  return member == channel->second.end() ? nullptr : &member->second;
}

std::vector<PresenceChange> PresenceTracker::all() const {
  std::vector<PresenceChange> list;
  for (const auto& [channel_id, members] : channels_) {
    for (const auto& [user_id, member] : members) list.push_back({channel_id, member});
  }
  return list;
}

}  // namespace nself::core
