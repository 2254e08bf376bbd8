#pragma once

namespace nself::cli {

// Runs `nself ...` (or `nself-realtime ...`) and returns the process exit code.
// Exit codes: 0 success, 1 operation failed, 2 usage or configuration error,
// 3 server not running (status).
int run(int argc, char** argv);

}  // namespace nself::cli
