#pragma once

// Runs a protocol case file (tests/support/protocol_case.hpp) against the pure
// engine through the Simulator: the same steps and the same matcher as the
// socket driver (tests/integration/protocol/), with the fake clock for
// `advance:` and tokens signed at the fake wall time.
//
// Steps the engine cannot express are skipped, with a reason, by kind:
//   send-frame:    raw WebSocket frames (framing, opcodes, UTF-8 checks) are
//                  the socket layer's;
//   expect-http:   the upgrade's HTTP status (401, 403, 503) is decided before
//                  the engine sees a connection;
//   send: over REALTIME_MAX_MESSAGE_BYTES: the socket layer closes it 1009
//                  before any request is parsed;
//   admin: shutdown: the server's graceful stop (close 1001).
// After such a step the connection it named (every connection, for shutdown)
// is left to the socket layer: the rest of the case's steps on it are skipped
// too, and it gets no final barrier. A case that checked nothing at all is
// reported as skipped rather than passed.

#include <string>
#include <vector>

#include "core/engine/ids.hpp"
#include "support/protocol_case.hpp"

namespace nself::test::engine {

struct CaseOutcome {
  std::string title;
  int line = 0;
  bool passed = false;
  bool checked = false;              // at least one expectation ran
  std::string failure;               // "file:line: case 'title': ..." when not passed
  std::vector<std::string> skipped;  // "file:line: <kind>: <reason>"
};

struct FileOutcome {
  std::string setup_error;  // the file's setup failed: no case ran
  std::vector<CaseOutcome> cases;
};

// Runs every case of `file` in order on one Simulator of `shards` shards.
// Connections go to the shards in turn (the first to shard 0, the next to 1...).
// Never throws.
FileOutcome run_file_on_engine(const protocol::CaseFile& file, core::engine::ShardIndex shards);

}  // namespace nself::test::engine
