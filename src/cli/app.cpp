#include "cli/app.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <iostream>

#include "cli/broadcast_command.hpp"
#include "cli/channel_commands.hpp"
#include "cli/command_context.hpp"
#include "cli/init_command.hpp"
#include "cli/monitoring_commands.hpp"
#include "cli/output.hpp"
#include "cli/server_commands.hpp"

namespace nself::cli {
namespace {

constexpr const char* kExitCodes =
    "Exit codes: 0 success, 1 operation failed, 2 bad usage or configuration, 3 server not "
    "running (status).";

constexpr const char* kRealtimeFooter = R"(
Channel types:
  public     Open to all authenticated users
  private    Invite-only access (members or admins)
  presence   Tracks online/offline status

Configuration is read from .env in the working directory, then the environment,
then --port. Without --port, status, logs, stop, connections and the other
commands that talk to the server use the project's running server, whatever
port it was started on (several running: name one with --port).
See docs/CONFIGURATION.md.

Examples:
  nself realtime init
  nself realtime start
  nself realtime channel create "general"
  nself realtime channel create "private-team" private
  nself realtime channel delete general
  nself realtime broadcast general news '{"text":"hello"}'
  nself realtime broadcast --all maintenance '{"at":"22:00"}' --expires +1h
  nself realtime channel members private-team add user-42 --role admin
  nself realtime connections
  nself realtime cleanup
  nself realtime stats --json
)";

// Adds the manual's options (--json, --port) to a command. Every command gets
// its own copies so they can be written after the command's name.
void add_global_options(CLI::App& command, GlobalOptions& options) {
  command.add_flag("--json", options.json, "Output in JSON format");
  command.add_option("--port", options.port, "WebSocket server port (default: 3100)")
      ->type_name("<port>");
}

// Runs `action` with a context, turning failures into messages and exit codes.
int run_command(const GlobalOptions& options, const std::function<int(CommandContext&)>& action) {
  CommandContext context(options, std::cout, std::cerr);
  try {
    return action(context);
  } catch (const CommandError& error) {
    if (options.json) {
      print_json(std::cout, boost::json::object{
                                {"error", {{"code", error.code()}, {"message", error.what()}}}});
    }
    std::cerr << "nself realtime: error: " << error.what() << "\n";
    return error.exit_code();
  } catch (const store::StoreError& error) {
    if (options.json) {
      print_json(std::cout, boost::json::object{
                                {"error", {{"code", "unavailable"}, {"message", error.what()}}}});
    }
    std::cerr << "nself realtime: error: " << error.what() << "\n";
    return exit_code::kFailed;
  }
}

// `nself-realtime status` is `nself realtime status`: an existing nself
// installation hands the subcommand's arguments to this binary.
std::vector<std::string> normalized_arguments(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  const auto program = std::filesystem::path(argv[0]).filename().string();
  if (program == "nself-realtime" && (arguments.empty() || arguments.front() != "realtime")) {
    arguments.insert(arguments.begin(), "realtime");
  }
  // CLI11 takes the arguments last first.
  std::reverse(arguments.begin(), arguments.end());
  return arguments;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"nself - self-hosted backend tools", "nself"};
  app.set_version_flag("--version", std::string("nself ") + NSELF_VERSION);
  app.require_subcommand(1);
  app.footer(kExitCodes);

  GlobalOptions options;
  std::function<int()> selected;
  auto select = [&](std::function<int(CommandContext&)> action) {
    return [&, action] { selected = [&, action] { return run_command(options, action); }; };
  };

  auto* realtime = app.add_subcommand("realtime", "Real-time communication management");
  realtime->set_version_flag("--version", std::string("nself realtime ") + NSELF_VERSION);
  realtime->require_subcommand(1);
  realtime->footer(std::string(kRealtimeFooter) + "\n" + kExitCodes);
  add_global_options(*realtime, options);

  auto command = [&](CLI::App& parent, const char* name, const char* description) {
    auto* sub = parent.add_subcommand(name, description);
    add_global_options(*sub, options);
    sub->footer(kExitCodes);
    return sub;
  };

  // ---- server management
  command(*realtime, "init", "Initialize real-time system")->callback(select(run_init));
  ServerCommandOptions server_options;
  auto* start = command(*realtime, "start", "Start WebSocket server");
  start->add_flag("--foreground", server_options.foreground,
                  "Stay attached: log to the terminal until stopped (what `make run` uses)");
  start->add_flag("--daemon-child", server_options.daemon_child)->group("");  // set by start
  start->callback(select([&](CommandContext& c) { return run_start(c, server_options); }));
  command(*realtime, "stop", "Stop WebSocket server")->callback(select(run_stop));
  auto* restart = command(*realtime, "restart", "Restart WebSocket server");
  restart->callback(select([&](CommandContext& c) { return run_restart(c, server_options); }));
  command(*realtime, "status", "Show server status and stats")->callback(select(run_status));
  auto* logs = command(*realtime, "logs", "Show WebSocket server logs");
  logs->add_option("-n,--lines", server_options.log_lines, "Lines to show first (default 50)");
  logs->add_flag("--no-follow", server_options.no_follow, "Print and exit instead of following");
  logs->callback(select([&](CommandContext& c) { return run_logs(c, server_options); }));

  // ---- channel management
  auto* channel = command(*realtime, "channel", "Channel management");
  channel->require_subcommand(1);
  ChannelCreateOptions create_options;
  auto* create = command(*channel, "create", "Create a new channel");
  create->add_option("name", create_options.name, "Channel name")->required();
  create->add_option("type", create_options.type, "public (default), private or presence");
  create->add_option("--slug", create_options.slug, "Slug (default: derived from the name)");
  create->add_option("--description", create_options.description, "Description");
  create->add_option("--max-members", create_options.max_members, "Max members (default 100)");
  create->add_flag("--ephemeral", create_options.ephemeral,
                   "No history: fan out at once, nothing stored (cursors, game state)");
  create->callback(
      select([&](CommandContext& c) { return run_channel_create(c, create_options); }));
  bool include_archived = false;
  auto* list = command(*channel, "list", "List all channels");
  list->add_flag("--all", include_archived, "Include archived channels");
  list->callback(select([&](CommandContext& c) { return run_channel_list(c, include_archived); }));
  std::string delete_target;
  auto* remove = command(*channel, "delete", "Delete a channel");
  remove->add_option("id", delete_target, "Channel id (UUID) or slug")->required();
  remove->callback(select([&](CommandContext& c) { return run_channel_delete(c, delete_target); }));
  std::string archive_target;
  auto* archive = command(*channel, "archive", "Archive a channel (read-only, history kept)");
  archive->add_option("id", archive_target, "Channel id (UUID) or slug")->required();
  archive->callback(
      select([&](CommandContext& c) { return run_channel_archive(c, archive_target); }));
  ChannelMembersOptions members_options;
  auto* members = command(*channel, "members", "List, add or remove channel members");
  members->add_option("id", members_options.channel, "Channel id (UUID) or slug")->required();
  members->add_option("action", members_options.action, "add or remove (none: list)");
  members->add_option("user_id", members_options.user_id, "The member's user id");
  members->add_option("--role", members_options.role, "add: owner, admin or member (default)");
  members->callback(
      select([&](CommandContext& c) { return run_channel_members(c, members_options); }));

  // ---- monitoring
  command(*realtime, "connections", "Show active connections (running server)")
      ->callback(select(run_connections));
  command(*realtime, "stats", "Show real-time statistics")->callback(select(run_stats));
  command(*realtime, "cleanup", "Remove stale connections, expired broadcasts, old messages")
      ->callback(select(run_cleanup));

  // ---- broadcasts
  BroadcastOptions broadcast_options;
  auto* broadcast = command(*realtime, "broadcast",
                            "Send an event to a channel's subscribers or to every connection");
  // Three single-value positionals rather than one list: CLI11 splits a list
  // value written as [..], such as a JSON array payload "[1,2,3]".
  std::string broadcast_target;
  std::string broadcast_event;
  std::string broadcast_payload;
  broadcast->add_option("target", broadcast_target, "<channel> (or <event> with --all)")
      ->required();
  broadcast->add_option("event", broadcast_event, "<event> (or <json-payload> with --all)")
      ->required();
  broadcast->add_option("payload", broadcast_payload, "<json-payload>");
  broadcast->add_flag("--all", broadcast_options.all,
                      "To every connection (a system announcement, also shown to later "
                      "connections until it expires)");
  broadcast
      ->add_option("--at", broadcast_options.at,
                   "Deliver at TIME: ISO-8601 (2025-01-31T18:00:00Z) or +10s, +5m, +1h, +2d")
      ->type_name("TIME");
  broadcast
      ->add_option("--expires", broadcast_options.expires,
                   "Never deliver after TIME (same forms as --at)")
      ->type_name("TIME");
  broadcast->callback(select([&](CommandContext& c) {
    broadcast_options.arguments = {broadcast_target, broadcast_event};
    if (broadcast->count("payload") > 0) broadcast_options.arguments.push_back(broadcast_payload);
    return run_broadcast(c, broadcast_options);
  }));

  try {
    app.parse(normalized_arguments(argc, argv));
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
    std::cerr << "nself realtime: error: " << error.what() << "\n"
              << "Run 'nself realtime --help' for usage.\n";
    return exit_code::kUsage;
  }
  return selected ? selected() : exit_code::kUsage;
}

}  // namespace nself::cli
