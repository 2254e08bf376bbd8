#include "cli/channel_commands.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "cli/output.hpp"
#include "cli/server_api.hpp"
#include "core/time_format.hpp"
#include "store/record_json.hpp"

namespace nself::cli {
namespace {

store::Channel find_or_fail(store::Store& store, const std::string& id_or_slug) {
  auto channel = store.find_channel(id_or_slug);
  if (!channel) {
    throw CommandError(exit_code::kFailed, "not_found",
                       fmt::format("no channel with id or slug '{}'", id_or_slug));
  }
  return *channel;
}

}  // namespace

int run_channel_create(CommandContext& context, const ChannelCreateOptions& options) {
  const auto& config = context.config();
  core::ChannelType type = config.default_channel_type;
  if (options.type) {
    const auto parsed = core::parse_channel_type(*options.type);
    if (!parsed) {
      throw CommandError(
          exit_code::kFailed, "bad_request",
          fmt::format("unknown channel type '{}': use public, private or presence", *options.type));
    }
    type = *parsed;
  }
  const std::string slug = options.slug ? *options.slug : core::slugify(options.name);
  if (!core::is_valid_slug(slug)) {
    throw CommandError(
        exit_code::kFailed, "bad_request",
        options.slug
            ? fmt::format("invalid slug '{}': use 1-64 characters of a-z, 0-9 and '-'", slug)
            : fmt::format("the name '{}' gives an empty slug: use letters or digits, or "
                          "pass --slug",
                          options.name));
  }
  if (options.max_members < 1) {
    throw CommandError(exit_code::kFailed, "bad_request", "--max-members must be at least 1");
  }
  store::NewChannel channel;
  channel.name = options.name;
  channel.slug = slug;
  channel.description = options.description;
  channel.type = type;
  channel.max_members = options.max_members;
  channel.is_persistent = !options.ephemeral;
  channel.created_by = "cli";

  auto created = context.store().create_channel(channel, now());
  if (!created) {
    const bool conflict = created.error().code == "conflict";
    throw CommandError(exit_code::kFailed, created.error().code,
                       conflict ? fmt::format("a channel with slug '{}' already exists", slug)
                                : created.error().message);
  }
  if (context.json()) {
    print_json(context.out(), boost::json::object{{"channel", store::channel_json(*created)}});
  } else {
    context.out() << fmt::format("Created {} channel '{}' (slug: {}, id: {}{})\n",
                                 core::to_string(created->type), created->name, created->slug,
                                 created->id, created->is_persistent ? "" : ", ephemeral");
  }
  return exit_code::kOk;
}

int run_channel_list(CommandContext& context, bool include_archived) {
  const auto channels = context.store().list_channels(include_archived);
  if (context.json()) {
    boost::json::array items;
    for (const auto& channel : channels) items.push_back(store::channel_json(channel));
    print_json(context.out(), boost::json::object{{"channels", std::move(items)}});
    return exit_code::kOk;
  }
  if (channels.empty()) {
    context.out() << "No channels. Create one: nself realtime channel create \"general\"\n";
    return exit_code::kOk;
  }
  Table table({"SLUG", "NAME", "TYPE", "MESSAGES", "CREATED", "ID"});
  for (const auto& channel : channels) {
    std::string type(core::to_string(channel.type));
    if (!channel.is_persistent) type += " (ephemeral)";
    if (channel.archived_at) type += " (archived)";
    table.add_row({channel.slug, channel.name, type, with_thousands_separators(channel.last_seq),
                   core::format_iso8601(channel.created_at).substr(0, 19) + "Z", channel.id});
  }
  table.print(context.out());
  return exit_code::kOk;
}

namespace {

void audit(store::Store& store, std::string action, const store::Channel& channel,
           boost::json::object details = {}) {
  details["slug"] = channel.slug;
  store.append_audit(store::AuditEntry{0, now(), "cli", std::move(action), channel.id,
                                       boost::json::serialize(details)});
}

void print_channel_change(CommandContext& context, std::string_view key, std::string_view verb,
                          const boost::json::object& channel) {
  if (context.json()) {
    print_json(context.out(), boost::json::object{{key, channel}});
    return;
  }
  context.out() << fmt::format("{} channel '{}' (slug: {}, id: {})\n", verb,
                               channel.at("name").as_string(), channel.at("slug").as_string(),
                               channel.at("id").as_string());
}

}  // namespace

int run_channel_delete(CommandContext& context, const std::string& id_or_slug) {
  if (server_running(context)) {
    auto reply =
        call_server_api(context, "DELETE", "/api/channels/" + encode_path_segment(id_or_slug));
    print_channel_change(context, "deleted", "Deleted",
                         reply.as_object().at("deleted").as_object());
    return exit_code::kOk;
  }
  auto& store = context.store();
  const auto channel = find_or_fail(store, id_or_slug);
  if (!store.delete_channel(channel.id)) {
    // Deleted by someone else between the lookup and now.
    throw CommandError(exit_code::kFailed, "not_found",
                       fmt::format("no channel with id or slug '{}'", id_or_slug));
  }
  audit(store, "channel.delete", channel);
  print_channel_change(context, "deleted", "Deleted", store::channel_json(channel));
  return exit_code::kOk;
}

int run_channel_archive(CommandContext& context, const std::string& id_or_slug) {
  if (server_running(context)) {
    auto reply = call_server_api(context, "POST",
                                 "/api/channels/" + encode_path_segment(id_or_slug) + "/archive");
    print_channel_change(context, "channel", "Archived",
                         reply.as_object().at("channel").as_object());
    return exit_code::kOk;
  }
  auto& store = context.store();
  auto channel = find_or_fail(store, id_or_slug);
  if (!channel.archived_at) {
    const auto at = now();
    store.archive_channel(channel.id, at);
    channel.archived_at = at;
    audit(store, "channel.archive", channel);
  }
  print_channel_change(context, "channel", "Archived", store::channel_json(channel));
  return exit_code::kOk;
}

int run_channel_members(CommandContext& context, const ChannelMembersOptions& options) {
  if (options.action && *options.action != "add" && *options.action != "remove") {
    throw CommandError(
        exit_code::kUsage, "bad_request",
        fmt::format("unknown members action '{}': use add or remove", *options.action));
  }
  if (options.action && (!options.user_id || options.user_id->empty())) {
    throw CommandError(exit_code::kUsage, "bad_request",
                       fmt::format("members {} needs a user id", *options.action));
  }
  if (!options.action && options.user_id) {
    throw CommandError(exit_code::kUsage, "bad_request",
                       "a user id needs an action: members <channel> add|remove <user_id>");
  }
  if (options.role && (!options.action || *options.action != "add")) {
    throw CommandError(exit_code::kUsage, "bad_request", "--role is only for members add");
  }
  store::MemberRole role = store::MemberRole::kMember;
  if (options.role) {
    const auto parsed = store::parse_member_role(*options.role);
    if (!parsed) {
      throw CommandError(
          exit_code::kUsage, "bad_request",
          fmt::format("unknown role '{}': use owner, admin or member", *options.role));
    }
    role = *parsed;
  }
  if (options.user_id && options.user_id->size() > 255) {
    throw CommandError(exit_code::kUsage, "bad_request", "a user id has at most 255 characters");
  }
  auto& store = context.store();
  const auto channel = find_or_fail(store, options.channel);
  if (options.action && *options.action == "add") {
    const bool existed = store.find_member(channel.id, *options.user_id).has_value();
    store::ChannelMember member;
    member.channel_id = channel.id;
    member.user_id = *options.user_id;
    member.role = role;
    member.can_send = true;
    member.can_invite = role != store::MemberRole::kMember;
    member.subscribed_at = now();
    store.upsert_member(member);
    audit(store, "member.add", channel,
          {{"user_id", member.user_id}, {"role", store::to_string(role)}});
    if (context.json()) {
      print_json(context.out(), boost::json::object{{"channel", channel.slug},
                                                    {"added", member.user_id},
                                                    {"role", store::to_string(role)},
                                                    {"updated", existed}});
    } else {
      context.out() << fmt::format("{} {} {} '{}' as {}\n", existed ? "Updated" : "Added",
                                   member.user_id, existed ? "in" : "to", channel.slug,
                                   store::to_string(role));
    }
    return exit_code::kOk;
  }
  if (options.action && *options.action == "remove") {
    if (!store.remove_member(channel.id, *options.user_id)) {
      throw CommandError(
          exit_code::kFailed, "not_found",
          fmt::format("'{}' is not a member of '{}'", *options.user_id, channel.slug));
    }
    audit(store, "member.remove", channel, {{"user_id", *options.user_id}});
    if (context.json()) {
      print_json(context.out(),
                 boost::json::object{{"channel", channel.slug}, {"removed", *options.user_id}});
    } else {
      context.out() << fmt::format("Removed {} from '{}'\n", *options.user_id, channel.slug);
    }
    return exit_code::kOk;
  }
  const auto members = store.get_channel_members(channel.id);
  if (context.json()) {
    boost::json::array items;
    for (const auto& member : members) {
      items.push_back(store::member_json(member));
    }
    print_json(context.out(),
               boost::json::object{{"channel", channel.slug}, {"members", std::move(items)}});
    return exit_code::kOk;
  }
  if (members.empty()) {
    context.out() << fmt::format(
        "No members in '{}'. Add one: nself realtime channel members {} add <user_id>\n",
        channel.slug, channel.slug);
    return exit_code::kOk;
  }
  Table table({"USER", "ROLE", "CAN SEND", "SINCE", "LAST READ"});
  for (const auto& member : members) {
    table.add_row(
        {member.user_id, std::string(store::to_string(member.role)), member.can_send ? "yes" : "no",
         core::format_iso8601(member.subscribed_at).substr(0, 19) + "Z",
         member.last_read_at ? core::format_iso8601(*member.last_read_at).substr(0, 19) + "Z"
                             : "-"});
  }
  table.print(context.out());
  return exit_code::kOk;
}

}  // namespace nself::cli
