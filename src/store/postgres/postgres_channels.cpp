// The PostgreSQL backend's channels and their members: create, list, find,
// archive and delete channels; add, change, list (through
// realtime.get_channel_members()) and remove members.

#include <fmt/format.h>

#include "store/postgres/postgres_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::postgres {
namespace {

constexpr const char* kChannelColumns =
    "id::text, name, slug, description, type, max_members, is_persistent, "
    "metadata::text, " NSELF_MS("created_at") ", created_by, " NSELF_MS("archived_at") ", last_seq";
constexpr const char* kMemberColumns =
    "channel_id::text, user_id, role, can_send, can_invite, " NSELF_MS(
        "subscribed_at") ", " NSELF_MS("last_read_at") ", last_read_seq";

Channel read_channel(const PgResult& rows, int i) {
  Channel channel;
  channel.id = rows.text(i, 0);
  channel.name = rows.text(i, 1);
  channel.slug = rows.text(i, 2);
  channel.description = rows.text(i, 3);
  channel.type = parse_or_throw(core::parse_channel_type(rows.text(i, 4)), "channel type");
  channel.max_members = static_cast<int>(rows.integer(i, 5));
  channel.is_persistent = rows.boolean(i, 6);
  channel.metadata = rows.text(i, 7);
  channel.created_at = rows.time(i, 8);
  channel.created_by = rows.optional_text(i, 9);
  channel.archived_at = rows.optional_time(i, 10);
  channel.last_seq = rows.integer(i, 11);
  return channel;
}

ChannelMember read_member(const PgResult& rows, int i) {
  ChannelMember member;
  member.channel_id = rows.text(i, 0);
  member.user_id = rows.text(i, 1);
  member.role = parse_or_throw(parse_member_role(rows.text(i, 2)), "member role");
  member.can_send = rows.boolean(i, 3);
  member.can_invite = rows.boolean(i, 4);
  member.subscribed_at = rows.time(i, 5);
  member.last_read_at = rows.optional_time(i, 6);
  member.last_read_seq = rows.integer(i, 7);
  return member;
}

}  // namespace

// ---- channels

Result<Channel> PostgresStore::create_channel(const NewChannel& channel, Timestamp now) {
  Channel created = channel_row(channel, now);
  const auto result = exec(
      "INSERT INTO realtime.channels (id, name, slug, description, type, max_members, "
      "is_persistent, metadata, created_at, created_by) VALUES ($1::uuid, $2, $3, $4, $5, "
      "$6::integer, $7::boolean, $8::jsonb, $9::timestamptz, $10) ON CONFLICT (slug) DO NOTHING",
      Params(created.id, created.name, created.slug, created.description,
             core::to_string(created.type), created.max_members, created.is_persistent,
             created.metadata, now, created.created_by));
  if (result.affected() == 0) {
    return Error{"conflict", "a channel with the slug '" + channel.slug + "' already exists"};
  }
  return created;
}

std::vector<Channel> PostgresStore::list_channels(bool include_archived) {
  const auto rows = exec(fmt::format("SELECT {} FROM realtime.channels WHERE $1::boolean OR "
                                     "archived_at IS NULL ORDER BY created_at, slug",
                                     kChannelColumns),
                         Params(include_archived));
  std::vector<Channel> result;
  for (int i = 0; i < rows.rows(); ++i) result.push_back(read_channel(rows, i));
  return result;
}

std::optional<Channel> PostgresStore::find_channel(std::string_view id_or_slug) {
  const auto id = canonical_uuid(id_or_slug);
  const auto rows =
      id ? exec(
               fmt::format("SELECT {} FROM realtime.channels WHERE id = $1::uuid", kChannelColumns),
               Params(*id))
         : exec(fmt::format("SELECT {} FROM realtime.channels WHERE slug = $1", kChannelColumns),
                Params(id_or_slug));
  if (rows.rows() == 0) return std::nullopt;
  return read_channel(rows, 0);
}

bool PostgresStore::delete_channel(std::string_view channel_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return false;
  return exec("DELETE FROM realtime.channels WHERE id = $1::uuid", Params(*id)).affected() > 0;
}

bool PostgresStore::archive_channel(std::string_view channel_id, Timestamp now) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return false;
  return exec(
             "UPDATE realtime.channels SET archived_at = COALESCE(archived_at, "
             "$1::timestamptz) WHERE id = $2::uuid",
             Params(now, *id))
             .affected() > 0;
}

// ---- members

void PostgresStore::upsert_member(const ChannelMember& member) {
  exec(
      "INSERT INTO realtime.channel_members (id, channel_id, user_id, role, can_send, "
      "can_invite, subscribed_at, last_read_at, last_read_seq) VALUES ($1::uuid, $2::uuid, $3, "
      "$4, $5::boolean, $6::boolean, $7::timestamptz, $8::timestamptz, $9::bigint) "
      "ON CONFLICT (channel_id, user_id) DO UPDATE SET role = EXCLUDED.role, "
      "can_send = EXCLUDED.can_send, can_invite = EXCLUDED.can_invite",
      Params(new_uuid(), require_channel_id(member.channel_id), member.user_id,
             to_string(member.role), member.can_send, member.can_invite, member.subscribed_at,
             member.last_read_at, member.last_read_seq));
}

bool PostgresStore::remove_member(std::string_view channel_id, std::string_view user_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return false;
  return exec("DELETE FROM realtime.channel_members WHERE channel_id = $1::uuid AND user_id = $2",
              Params(*id, user_id))
             .affected() > 0;
}

std::vector<ChannelMember> PostgresStore::get_channel_members(std::string_view channel_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return {};
  const auto rows = exec(fmt::format("SELECT {} FROM realtime.get_channel_members($1::uuid) "
                                     "ORDER BY subscribed_at, user_id",
                                     kMemberColumns),
                         Params(*id));
  std::vector<ChannelMember> result;
  for (int i = 0; i < rows.rows(); ++i) result.push_back(read_member(rows, i));
  return result;
}

std::optional<ChannelMember> PostgresStore::find_member(std::string_view channel_id,
                                                        std::string_view user_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return std::nullopt;
  const auto rows = exec(fmt::format("SELECT {} FROM realtime.channel_members WHERE channel_id "
                                     "= $1::uuid AND user_id = $2",
                                     kMemberColumns),
                         Params(*id, user_id));
  if (rows.rows() == 0) return std::nullopt;
  return read_member(rows, 0);
}

}  // namespace nself::store::postgres
