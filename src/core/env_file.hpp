#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nself::core {

// One KEY=VALUE assignment of a .env file, with the line it came from.
struct EnvEntry {
  std::string key;
  std::string value;
  int line = 0;
};

// The parsed contents of a dotenv file. Later assignments of a key win.
struct EnvFile {
  std::string name;  // for messages, e.g. ".env"
  std::vector<EnvEntry> entries;

  // The last assignment of `key`, or nullptr.
  const EnvEntry* find(std::string_view key) const;
};

// Parses dotenv text as nself writes it and as docker compose reads it:
//   KEY=value            (surrounding blanks trimmed; " #..." starts a comment)
//   export KEY=value     ("export " is ignored)
//   KEY="a \"quoted\"\n" (double quotes: \n \t \" \\ escapes)
//   KEY='literal'        (single quotes: taken as is)
//   # comment, blank lines
// Keys are [A-Za-z_][A-Za-z0-9_]*. Any other line is an error of code
// "invalid_config" naming the file and line.
Result<EnvFile> parse_env_file(std::string_view text, std::string name);

// Quotes `value` for writing into a .env file when it needs it.
std::string quote_env_value(std::string_view value);

}  // namespace nself::core
