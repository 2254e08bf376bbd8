#include "store/store.hpp"

#include <utility>

#include "store/uuid.hpp"

namespace nself::store {

std::string_view to_string(MemberRole role) {
  switch (role) {
    case MemberRole::kOwner:
      return "owner";
    case MemberRole::kAdmin:
      return "admin";
    case MemberRole::kMember:
      return "member";
  }
  return "member";
}

std::optional<MemberRole> parse_member_role(std::string_view text) {
  if (text == "owner") return MemberRole::kOwner;
  if (text == "admin") return MemberRole::kAdmin;
  if (text == "member") return MemberRole::kMember;
  return std::nullopt;
}

std::string_view to_string(PresenceStatus status) {
  switch (status) {
    case PresenceStatus::kOnline:
      return "online";
    case PresenceStatus::kAway:
      return "away";
    case PresenceStatus::kBusy:
      return "busy";
    case PresenceStatus::kOffline:
      return "offline";
  }
  return "offline";
}

std::optional<PresenceStatus> parse_presence_status(std::string_view text) {
  if (text == "online") return PresenceStatus::kOnline;
  if (text == "away") return PresenceStatus::kAway;
  if (text == "busy") return PresenceStatus::kBusy;
  if (text == "offline") return PresenceStatus::kOffline;
  return std::nullopt;
}

Channel channel_row(const NewChannel& channel, Timestamp now) {
  Channel row;
  row.id = new_uuid();
  row.name = channel.name;
  row.slug = channel.slug;
  row.description = channel.description;
  row.type = channel.type;
  row.max_members = channel.max_members;
  row.is_persistent = channel.is_persistent;
  row.metadata = channel.metadata;
  row.created_at = now;
  row.created_by = channel.created_by;
  return row;
}

std::string require_channel_id(std::string_view channel_id) {
  auto id = canonical_uuid(channel_id);
  if (!id) throw StoreError("no channel with id '" + std::string(channel_id) + "'");
  return std::move(*id);
}

}  // namespace nself::store
