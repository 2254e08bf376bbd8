#pragma once

// The conformance case files (tests/data/ws/*.txt): their format, parser and
// runner. The format is described in tests/data/ws/README.md.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/ws/frame_codec.hpp"

namespace nself::test::ws {

// How a case's input is handed to the decoder.
enum class Split {
  kWhole,  // one feed() with everything
  kEach,   // one byte per feed()
  kLines,  // one feed() per `in...` line
  kChunk,  // fixed-size chunks (Case::chunk_size)
};

struct Expectation {
  enum class Kind { kEvent, kFail, kPending, kNone };
  Kind kind = Kind::kEvent;
  core::ws::Event event;        // kEvent
  std::uint16_t fail_code = 0;  // kFail
  // kFail: when set, feeding one byte at a time must report the violation
  // exactly when this many bytes have been fed (a fail-fast check).
  std::optional<std::size_t> fail_after;
};

struct Case {
  std::string file;   // file name, e.g. "05_2_base_framing.txt"
  int line = 0;       // line of the `case:` line
  std::string title;  // text after `case:`
  std::string name;   // unique GoogleTest-safe name derived from file and title
  std::size_t limit = 65536;
  bool client_role = false;  // decode server frames (unmasked) instead of client frames
  Split split = Split::kWhole;
  std::size_t chunk_size = 0;
  std::vector<std::string> inputs;  // one entry per `in...` line
  std::vector<Expectation> expectations;
};

struct LoadResult {
  std::vector<Case> cases;
  std::vector<std::string> errors;  // "file:line: message"
  std::size_t files = 0;
};

// Parses every *.txt file in `dir` (sorted by name). Never throws: problems
// (including a missing directory) are reported in `errors`.
LoadResult load_cases(const std::filesystem::path& dir);

// Runs `c` with input split as `split`; returns "" on success or a
// description of every mismatch.
std::string run_case(const Case& c, Split split);

}  // namespace nself::test::ws
