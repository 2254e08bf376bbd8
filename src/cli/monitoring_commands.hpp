#pragma once

#include "cli/command_context.hpp"

namespace nself::cli {

// `connections`: the running server's open connections (id, user, remote
// address, connected since, subscriptions, last activity). Needs a running
// server: exit 1 with a message when it is stopped.
int run_connections(CommandContext& context);
// `stats`: the manual's figures. From the running server's API, else from the
// database with the live figures (connections, online users) shown as 0 and
// "running": false in --json.
int run_stats(CommandContext& context);
// `cleanup`: stale connections, expired broadcasts, messages past the
// retention, stale presence. Through the running server's API, else directly
// on the database (where every connection row left behind is stale).
int run_cleanup(CommandContext& context);

}  // namespace nself::cli
