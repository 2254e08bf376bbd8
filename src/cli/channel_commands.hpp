#pragma once

#include <optional>
#include <string>

#include "cli/command_context.hpp"

namespace nself::cli {

struct ChannelCreateOptions {
  std::string name;
  std::optional<std::string> type;  // public|private|presence; default from configuration
  std::optional<std::string> slug;  // default: derived from the name
  std::string description;
  int max_members = 100;
  bool ephemeral = false;
};

// `channel create <name> [type]`: exit 1 on a duplicate slug or a bad type.
int run_channel_create(CommandContext& context, const ChannelCreateOptions& options);
// `channel list [--all]`: archived channels only with --all.
int run_channel_list(CommandContext& context, bool include_archived);
// `channel delete <id|slug>`: removes it with its messages, members and
// subscriptions. Through the running server's API when one runs (its
// subscribers get channel_deleted), else directly in the database.
int run_channel_delete(CommandContext& context, const std::string& id_or_slug);
// `channel archive <id|slug>`: read-only from now on (history kept), hidden
// from `channel list` without --all. Through the running server when one runs.
int run_channel_archive(CommandContext& context, const std::string& id_or_slug);

struct ChannelMembersOptions {
  std::string channel;
  std::optional<std::string> action;   // none (list), "add" or "remove"
  std::optional<std::string> user_id;  // for add and remove
  std::optional<std::string> role;     // add: owner|admin|member (default member)
};
// `channel members <id|slug> [add|remove <user_id>] [--role R]`: lists, adds
// (or updates the role of) and removes members, in the database (the server
// reads membership from it on every subscribe).
int run_channel_members(CommandContext& context, const ChannelMembersOptions& options);

}  // namespace nself::cli
