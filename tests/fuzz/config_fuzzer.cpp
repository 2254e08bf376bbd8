// libFuzzer target: the .env parser (core/env_file) and the configuration
// loader (core/config). The input is "<.env text>\0<environment>\0<--port>",
// the environment being KEY=value lines.
//
// Properties: nothing crashes; errors are invalid_config with a one-line
// message; every parsed value survives quote_env_value and a re-parse
// (what `init` writes reads back the same); a loaded config has a valid port.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/env_file.hpp"
#include "fuzz_check.hpp"

namespace {

namespace core = nself::core;

std::string_view next_part(std::string_view& input) {
  const std::size_t end = input.find('\0');
  const std::string_view part = input.substr(0, end);
  input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
  return part;
}

void check_error(const nself::Error& error) {
  NSELF_FUZZ_CHECK(error.code == "invalid_config");
  NSELF_FUZZ_CHECK(error.message.find('\n') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view env_text = next_part(input);
  const std::string_view environment_text = next_part(input);
  const std::string_view port = next_part(input);

  const auto file = core::parse_env_file(env_text, ".env");
  if (!file) {
    check_error(file.error());
    return 0;
  }
  for (const auto& entry : file->entries) {
    NSELF_FUZZ_CHECK(!entry.key.empty());
    const std::string line = entry.key + "=" + core::quote_env_value(entry.value);
    const auto again = core::parse_env_file(line, "round-trip");
    NSELF_FUZZ_CHECK(again.ok());
    NSELF_FUZZ_CHECK(again->entries.size() == 1);
    NSELF_FUZZ_CHECK(again->entries.front().value == entry.value);
  }

  std::map<std::string, std::string, std::less<>> environment;
  const auto env_file = core::parse_env_file(environment_text, "environment");
  if (env_file) {
    for (const auto& entry : env_file->entries) environment[entry.key] = entry.value;
  }
  const core::EnvLookup lookup = [&](std::string_view key) -> std::optional<std::string> {
    const auto found = environment.find(key);
    if (found == environment.end()) return std::nullopt;
    return found->second;
  };
  core::ConfigOverrides overrides;
  if (!port.empty()) overrides.port = std::string(port);
  const auto config = core::load_config(*file, lookup, overrides);
  if (!config) {
    check_error(config.error());
    return 0;
  }
  NSELF_FUZZ_CHECK(config->port >= 1 && config->port <= 65535);
  NSELF_FUZZ_CHECK(config->max_connections > 0);
  return 0;
}
