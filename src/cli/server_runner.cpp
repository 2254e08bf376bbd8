#include "cli/server_commands.hpp"

namespace nself::cli {

// Until the WebSocket server lands (issue 3), `start` cannot run one.
int run_server_foreground(CommandContext&, const ServerCommandOptions&) {
  throw CommandError(exit_code::kFailed, "not_available",
                     "the WebSocket server is not part of this build yet");
}

}  // namespace nself::cli
