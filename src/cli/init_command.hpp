#pragma once

#include "cli/command_context.hpp"

namespace nself::cli {

// `nself realtime init`: adds the default keys and generated secrets to .env
// (never changing a value that is there), creates the state directory and
// applies the migrations. Idempotent.
int run_init(CommandContext& context);

}  // namespace nself::cli
