#pragma once

// `nself realtime broadcast <channel|--all> <event> <json-payload> [--at TIME]
// [--expires TIME]`: writes a row to realtime.broadcasts and exits; the
// running server (server/broadcast_scheduler.hpp) delivers it when due, also
// if it is started only later. See docs/CLI.md.

#include <optional>
#include <string>
#include <vector>

#include "cli/command_context.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace nself::cli {

struct BroadcastOptions {
  // [channel] event payload; the channel is absent with --all.
  std::vector<std::string> arguments;
  bool all = false;
  std::optional<std::string> at;       // --at TIME
  std::optional<std::string> expires;  // --expires TIME
};

// TIME for --at and --expires: an ISO-8601 timestamp with a zone
// ("2025-01-31T18:00:00Z", "...+02:00"), or a time relative to `now`:
// "+" and a whole number with a unit s, m, h or d ("+10s", "+5m", "+1h", "+2d").
// Error code "bad_request" with a message naming the accepted forms.
Result<store::Timestamp> parse_broadcast_time(std::string_view text, store::Timestamp now);

// Exit 1 for an unknown channel, a payload that is not JSON, a bad TIME or an
// expiry not after the delivery time (such a broadcast could never be delivered).
int run_broadcast(CommandContext& context, const BroadcastOptions& options);

}  // namespace nself::cli
