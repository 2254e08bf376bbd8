#include "core/env_file.hpp"

#include <fmt/format.h>

namespace nself::core {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

bool is_key(std::string_view key) {
  if (key.empty()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

Error line_error(const std::string& name, int line, std::string_view what) {
  return Error{"invalid_config", fmt::format("{} line {}: {}", name, line, what)};
}

// Parses the value part of an assignment (after '='). Returns false on an
// unterminated quote.
bool parse_value(std::string_view raw, std::string& value) {
  raw = trim(raw);
  if (!raw.empty() && raw.front() == '"') {
    for (std::size_t i = 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '"') {
        const auto rest = trim(raw.substr(i + 1));
        return rest.empty() || rest.front() == '#';
      }
      if (c == '\\' && i + 1 < raw.size()) {
        const char next = raw[++i];
        switch (next) {
          case 'n':
            value.push_back('\n');
            break;
          case 't':
            value.push_back('\t');
            break;
          case 'r':
            value.push_back('\r');
            break;
          default:
            value.push_back(next);  // \" \\ \$ and anything else: the character itself
        }
      } else {
        value.push_back(c);
      }
    }
    return false;
  }
  if (!raw.empty() && raw.front() == '\'') {
    const auto close = raw.find('\'', 1);
    if (close == std::string_view::npos) return false;
    const auto rest = trim(raw.substr(close + 1));
    value.assign(raw.substr(1, close - 1));
    return rest.empty() || rest.front() == '#';
  }
  // Unquoted: a '#' preceded by a blank starts a comment.
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
      raw = trim(raw.substr(0, i));
      break;
    }
  }
  value.assign(raw);
  return true;
}

}  // namespace

const EnvEntry* EnvFile::find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->key == key) return &*it;
  }
  return nullptr;
}

Result<EnvFile> parse_env_file(std::string_view text, std::string name) {
  EnvFile file;
  file.name = std::move(name);
  int line_number = 0;
  std::size_t position = 0;
  while (position <= text.size()) {
    const auto end = text.find('\n', position);
    const auto raw_line = text.substr(
        position, end == std::string_view::npos ? std::string_view::npos : end - position);
    position = end == std::string_view::npos ? text.size() + 1 : end + 1;
    ++line_number;

    auto line = trim(raw_line);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      return line_error(file.name, line_number, "expected KEY=VALUE");
    }
    const auto key = trim(line.substr(0, equals));
    if (!is_key(key)) {
      return line_error(file.name, line_number,
                        fmt::format("'{}' is not a valid variable name", key));
    }
    EnvEntry entry{std::string(key), {}, line_number};
    if (!parse_value(line.substr(equals + 1), entry.value)) {
      return line_error(file.name, line_number,
                        fmt::format("unterminated quote in the value of {}", key));
    }
    file.entries.push_back(std::move(entry));
  }
  return file;
}

std::string quote_env_value(std::string_view value) {
  const bool plain = value.find_first_of(" \t\n\r#\"'\\$`") == std::string_view::npos;
  if (plain) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    switch (c) {
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '"':
      case '\\':
        quoted.push_back('\\');
        quoted.push_back(c);
        break;
      default:
        quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace nself::core
