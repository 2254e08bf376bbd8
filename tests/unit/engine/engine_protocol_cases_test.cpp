// The protocol cases (tests/data/protocol/*.txt) against the pure engine:
// the same files, parser and matcher as the socket driver
// (tests/integration/protocol/), run through the Simulator with one shard and
// with two. One test per case and shard count:
//   EngineProtocolCases/OnEngine.Case/<OneShard|TwoShards>_<file>_<NNN>_<title>
// The cases of a file run in order on one simulator (they build on each
// other, as over sockets); the first test of a file runs them all.
//
// Skipped per step kind, with the reason printed (engine_case_runner.hpp):
// send-frame (raw WebSocket frames), expect-http (the upgrade's status),
// a send over REALTIME_MAX_MESSAGE_BYTES (close 1009 by the socket layer),
// admin: shutdown (close 1001); and the rest of the case's steps on the
// connection they named.
//
// tests/data/protocol/engine_pending.list (not .txt: every .txt there is read
// as a case file, by the socket driver too) lists the cases not passing on the
// engine yet ("<shards> <file>:<title>"). Listed and failing: skipped
// ("pending on the engine"). Listed and passing: FAILS (remove the line: the
// list only shrinks). Not listed and failing: FAILS. Rewrite the list from a
// run with NSELF_ENGINE_PENDING_WRITE=1 (test EngineCaseFiles.PendingList).

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine_case_runner.hpp"
#include "support/protocol_case.hpp"

namespace nself::test::engine {
namespace {

const std::string kCasesDir = NSELF_TEST_DATA_DIR "/protocol";
const std::string kPendingFile = kCasesDir + "/engine_pending.list";

const protocol::LoadResult& loaded() {
  static const protocol::LoadResult result = protocol::load_case_files(kCasesDir);
  return result;
}

std::string key_of(unsigned shards, const std::string& file, const std::string& title) {
  return std::to_string(shards) + " " + file + ":" + title;
}

const std::set<std::string>& pending() {
  static const std::set<std::string> entries = [] {
    std::set<std::string> lines;
    std::ifstream in(kPendingFile);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      lines.insert(line);
    }
    return lines;
  }();
  return entries;
}

// One run per file and shard count, shared by its cases' tests.
const FileOutcome& outcome_of(std::size_t file, unsigned shards) {
  static std::map<std::pair<std::size_t, unsigned>, FileOutcome> runs;
  auto found = runs.find({file, shards});
  if (found == runs.end()) {
    found =
        runs.emplace(std::pair{file, shards}, run_file_on_engine(loaded().files.at(file), shards))
            .first;
  }
  return found->second;
}

struct CaseParam {
  std::size_t file = 0;
  std::size_t index = 0;
  unsigned shards = 1;
  std::string name;  // GoogleTest-safe
};

void PrintTo(const CaseParam& param, std::ostream* out) {
  *out << param.name;
}

std::string safe(const std::string& text, std::size_t limit) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= limit) break;
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

std::vector<CaseParam> all_cases() {
  std::vector<CaseParam> params;
  for (unsigned shards : {1u, 2u}) {
    for (std::size_t f = 0; f < loaded().files.size(); ++f) {
      const auto& file = loaded().files[f];
      for (std::size_t i = 0; i < file.cases.size(); ++i) {
        char number[24];
        std::snprintf(number, sizeof number, "%03zu", i + 1);
        params.push_back({f, i, shards,
                          std::string(shards == 1 ? "OneShard_" : "TwoShards_") + file.name + "_" +
                              number + "_" + safe(file.cases[i].title, 48)});
      }
    }
  }
  return params;
}

TEST(EngineCaseFiles, ParseWithoutErrors) {
  for (const auto& error : loaded().errors) ADD_FAILURE() << error;
  EXPECT_FALSE(loaded().files.empty());
}

// Every line of the pending list names a case that exists; with
// NSELF_ENGINE_PENDING_WRITE=1 the list is rewritten from this run.
TEST(EngineCaseFiles, PendingList) {
  std::set<std::string> existing;
  std::vector<std::string> failing;
  for (unsigned shards : {1u, 2u}) {
    for (std::size_t f = 0; f < loaded().files.size(); ++f) {
      const auto& file = loaded().files[f];
      const FileOutcome& run = outcome_of(f, shards);
      for (std::size_t i = 0; i < file.cases.size(); ++i) {
        const std::string key = key_of(shards, file.file, file.cases[i].title);
        existing.insert(key);
        const bool passed = run.setup_error.empty() && i < run.cases.size() && run.cases[i].passed;
        if (!passed) failing.push_back(key);
      }
    }
  }
  if (std::getenv("NSELF_ENGINE_PENDING_WRITE") != nullptr) {
    std::ofstream out(kPendingFile);
    out << "# The protocol cases not yet passing against the pure engine\n"
           "# (tests/unit/engine/engine_protocol_cases_test.cpp): \"<shards> <file>:<title>\".\n"
           "# A listed case that passes fails the test: remove its line. Rewritten by\n"
           "# NSELF_ENGINE_PENDING_WRITE=1 ./build/tests/unit_engine_tests "
           "--gtest_filter='EngineCaseFiles.*'\n";
    for (const auto& key : failing) out << key << "\n";
    std::printf("wrote %zu pending cases to %s\n", failing.size(), kPendingFile.c_str());
  }
  for (const auto& entry : pending()) {
    EXPECT_TRUE(existing.contains(entry)) << "engine_pending.list names no case: " << entry;
  }
}

class OnEngine : public ::testing::TestWithParam<CaseParam> {};

TEST_P(OnEngine, Case) {
  const CaseParam& param = GetParam();
  const auto& file = loaded().files.at(param.file);
  const auto& c = file.cases.at(param.index);
  const FileOutcome& run = outcome_of(param.file, param.shards);
  ASSERT_TRUE(run.setup_error.empty()) << run.setup_error;
  ASSERT_LT(param.index, run.cases.size());
  const CaseOutcome& outcome = run.cases[param.index];
  for (const auto& skipped : outcome.skipped) std::printf("[ skip step ] %s\n", skipped.c_str());
  const bool listed = pending().contains(key_of(param.shards, file.file, c.title));
  if (listed) {
    if (!outcome.passed) GTEST_SKIP() << "pending on the engine: " << outcome.failure;
    FAIL() << file.file << ":" << c.line << ": case '" << c.title << "' passes on the engine with "
           << param.shards << " shard(s): remove its line from " << kPendingFile;
  }
  ASSERT_TRUE(outcome.passed) << outcome.failure;
  if (!outcome.checked) GTEST_SKIP() << "the engine cannot express any of its steps";
}

INSTANTIATE_TEST_SUITE_P(EngineProtocolCases, OnEngine, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<CaseParam>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnEngine);

}  // namespace
}  // namespace nself::test::engine
