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
// `channel delete <id|slug>`: removes it with its messages, members and subscriptions.
int run_channel_delete(CommandContext& context, const std::string& id_or_slug);

}  // namespace nself::cli
