// The SQLite backend's channels and their members: create, list, find,
// archive and delete channels; add, change, list and remove members.

#include <fmt/format.h>

#include "store/sqlite/sqlite_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::sqlite {
namespace {

constexpr const char* kChannelColumns =
    "id, name, slug, description, type, max_members, is_persistent, metadata, created_at, "
    "created_by, archived_at, last_seq";
constexpr const char* kMemberColumns =
    "channel_id, user_id, role, can_send, can_invite, subscribed_at, last_read_at, last_read_seq";

Channel read_channel(const Query& row) {
  Channel channel;
  channel.id = row.text(0);
  channel.name = row.text(1);
  channel.slug = row.text(2);
  channel.description = row.text(3);
  channel.type = parse_or_throw(core::parse_channel_type(row.text(4)), "channel type");
  channel.max_members = static_cast<int>(row.integer(5));
  channel.is_persistent = row.integer(6) != 0;
  channel.metadata = row.text(7);
  channel.created_at = row.time(8);
  channel.created_by = row.optional_text(9);
  channel.archived_at = row.optional_time(10);
  channel.last_seq = row.integer(11);
  return channel;
}

ChannelMember read_member(const Query& row) {
  ChannelMember member;
  member.channel_id = row.text(0);
  member.user_id = row.text(1);
  member.role = parse_or_throw(parse_member_role(row.text(2)), "member role");
  member.can_send = row.integer(3) != 0;
  member.can_invite = row.integer(4) != 0;
  member.subscribed_at = row.time(5);
  member.last_read_at = row.optional_time(6);
  member.last_read_seq = row.integer(7);
  return member;
}

}  // namespace

// ---- channels

Result<Channel> SqliteStore::create_channel(const NewChannel& channel, Timestamp now) {
  Channel created = channel_row(channel, now);
  query(
      "INSERT INTO realtime.channels (id, name, slug, description, type, max_members, "
      "is_persistent, metadata, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (slug) DO NOTHING")
      .bind(created.id, created.name, created.slug, created.description,
            core::to_string(created.type), created.max_members, created.is_persistent,
            created.metadata, now, created.created_by)
      .run();
  if (changes() == 0) {
    return Error{"conflict", "a channel with the slug '" + channel.slug + "' already exists"};
  }
  return created;
}

std::vector<Channel> SqliteStore::list_channels(bool include_archived) {
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.channels WHERE ? OR archived_at IS NULL ORDER BY created_at, slug",
      kChannelColumns));
  rows.bind(include_archived);
  std::vector<Channel> result;
  while (rows.step()) result.push_back(read_channel(rows));
  return result;
}

std::optional<Channel> SqliteStore::find_channel(std::string_view id_or_slug) {
  const auto id = canonical_uuid(id_or_slug);
  auto rows = query(fmt::format("SELECT {} FROM realtime.channels WHERE {} = ?", kChannelColumns,
                                id ? "id" : "slug"));
  rows.bind(id ? std::string_view(*id) : id_or_slug);
  if (!rows.step()) return std::nullopt;
  return read_channel(rows);
}

bool SqliteStore::delete_channel(std::string_view channel_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return false;
  query("DELETE FROM realtime.channels WHERE id = ?").bind(*id).run();
  return changes() > 0;
}

bool SqliteStore::archive_channel(std::string_view channel_id, Timestamp now) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return false;
  query("UPDATE realtime.channels SET archived_at = COALESCE(archived_at, ?) WHERE id = ?")
      .bind(now, *id)
      .run();
  return changes() > 0;
}

// ---- members

void SqliteStore::upsert_member(const ChannelMember& member) {
  const std::string channel_id = require_channel_id(member.channel_id);
  query(
      "INSERT INTO realtime.channel_members (id, channel_id, user_id, role, can_send, "
      "can_invite, subscribed_at, last_read_at, last_read_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
      "?) ON CONFLICT (channel_id, user_id) DO UPDATE SET role = excluded.role, "
      "can_send = excluded.can_send, can_invite = excluded.can_invite")
      .bind(new_uuid(), channel_id, member.user_id, to_string(member.role), member.can_send,
            member.can_invite, member.subscribed_at, member.last_read_at, member.last_read_seq)
      .run();
}

bool SqliteStore::remove_member(std::string_view channel_id, std::string_view user_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return false;
  query("DELETE FROM realtime.channel_members WHERE channel_id = ? AND user_id = ?")
      .bind(*id, user_id)
      .run();
  return changes() > 0;
}

std::vector<ChannelMember> SqliteStore::get_channel_members(std::string_view channel_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return {};
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.channel_members WHERE channel_id = ? ORDER BY subscribed_at, "
      "user_id",
      kMemberColumns));
  rows.bind(*id);
  std::vector<ChannelMember> result;
  while (rows.step()) result.push_back(read_member(rows));
  return result;
}

std::optional<ChannelMember> SqliteStore::find_member(std::string_view channel_id,
                                                      std::string_view user_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return std::nullopt;
  auto rows = query(
      fmt::format("SELECT {} FROM realtime.channel_members WHERE channel_id = ? AND user_id = ?",
                  kMemberColumns));
  rows.bind(*id, user_id);
  if (!rows.step()) return std::nullopt;
  return read_member(rows);
}

}  // namespace nself::store::sqlite
