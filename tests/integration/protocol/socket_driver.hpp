#pragma once

// Runs a protocol case file (tests/support/protocol_case.hpp) against the real
// `nself` binary over sockets: a project directory with its .env, the file's
// channels, members and stored messages written to its SQLite store before
// `nself realtime start`, then every case in order against that one server,
// with RawClient connections. Every read waits at most kReadTimeout.

#include <chrono>
#include <string>
#include <vector>

#include "support/protocol_case.hpp"

namespace nself::test::protocol {

// How long any one expected frame (or close, or the barrier's pong) may take.
inline constexpr std::chrono::milliseconds kReadTimeout{5000};

struct Failure {
  int line = 0;         // the step that failed
  std::string message;  // "case 'title': ..." with the expected and actual frames
};

struct FileRun {
  std::vector<Failure> failures;  // empty: every case passed
  int cases_run = 0;
  std::string server_log;  // the tail of the server's log, when something failed
};

// Runs `file` from start to end. Never throws: setup problems are failures too.
FileRun run_file_over_sockets(const CaseFile& file);

}  // namespace nself::test::protocol
