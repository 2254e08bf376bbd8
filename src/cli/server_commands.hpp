#pragma once

#include "cli/command_context.hpp"

namespace nself::cli {

struct ServerCommandOptions {
  bool foreground = false;    // start: stay attached
  bool daemon_child = false;  // start: set by `start` for the process it spawns (hidden)
  int log_lines = 50;         // logs -n
  bool no_follow = false;     // logs --no-follow
};

// `start`: in the background (pid and log files under .nself/realtime/),
// returning once the server answers on its port; `--foreground` stays attached.
int run_start(CommandContext& context, const ServerCommandOptions& options);
// `stop`: SIGTERM, then waits for the graceful shutdown (the server closes
// every connection with 1001 and flushes pending writes and stores).
int run_stop(CommandContext& context);
int run_restart(CommandContext& context, const ServerCommandOptions& options);
// `status`: exit 0 when running, 3 when stopped.
int run_status(CommandContext& context);
// `logs`: the last lines of the log, then follows it unless --no-follow.
int run_logs(CommandContext& context, const ServerCommandOptions& options);

// Runs the server in this process until it is stopped (server_runner.cpp).
int run_server_foreground(CommandContext& context, const ServerCommandOptions& options);

}  // namespace nself::cli
