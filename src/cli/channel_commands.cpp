#include "cli/channel_commands.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "cli/output.hpp"
#include "core/time_format.hpp"

namespace nself::cli {
namespace {

boost::json::value optional_time(const std::optional<store::Timestamp>& time) {
  if (!time) return nullptr;
  return boost::json::value(core::format_iso8601(*time));
}

boost::json::object channel_to_json(const store::Channel& channel) {
  boost::json::object object;
  object["id"] = channel.id;
  object["name"] = channel.name;
  object["slug"] = channel.slug;
  object["description"] = channel.description;
  object["type"] = core::to_string(channel.type);
  object["max_members"] = channel.max_members;
  object["is_persistent"] = channel.is_persistent;
  boost::json::error_code ignored;
  auto metadata = boost::json::parse(channel.metadata, ignored);
  object["metadata"] = ignored ? boost::json::value(boost::json::object()) : std::move(metadata);
  object["created_at"] = core::format_iso8601(channel.created_at);
  object["created_by"] =
      channel.created_by ? boost::json::value(*channel.created_by) : boost::json::value(nullptr);
  object["archived_at"] = optional_time(channel.archived_at);
  object["last_seq"] = channel.last_seq;
  return object;
}

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
    print_json(context.out(), boost::json::object{{"channel", channel_to_json(*created)}});
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
    for (const auto& channel : channels) items.push_back(channel_to_json(channel));
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

int run_channel_delete(CommandContext& context, const std::string& id_or_slug) {
  auto& store = context.store();
  const auto channel = find_or_fail(store, id_or_slug);
  if (!store.delete_channel(channel.id)) {
    // Deleted by someone else between the lookup and now.
    throw CommandError(exit_code::kFailed, "not_found",
                       fmt::format("no channel with id or slug '{}'", id_or_slug));
  }
  if (context.json()) {
    print_json(context.out(), boost::json::object{{"deleted", channel_to_json(channel)}});
  } else {
    context.out() << fmt::format("Deleted channel '{}' (slug: {}, id: {})\n", channel.name,
                                 channel.slug, channel.id);
  }
  return exit_code::kOk;
}

}  // namespace nself::cli
