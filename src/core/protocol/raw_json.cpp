#include "core/protocol/raw_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace nself::core::protocol::detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void skip_space(std::string_view text, std::size_t& pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
}

// `pos` is at an opening quote; moves it past the closing quote.
void skip_string(std::string_view text, std::size_t& pos) {
  ++pos;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (c == '\\') {
      ++pos;  // the escaped character ('u' escapes are plain hex digits after it)
    } else if (c == '"') {
      return;
    }
  }
}

// `pos` is at the first character of a value; moves it past the value.
// Iterative, so nesting depth costs no stack.
void skip_value(std::string_view text, std::size_t& pos) {
  std::size_t depth = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '"') {
      skip_string(text, pos);
    } else if (c == '{' || c == '[') {
      ++depth;
      ++pos;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return;  // the end of the enclosing container
      --depth;
      ++pos;
    } else if (depth == 0 && (c == ',' || is_space(c))) {
      return;
    } else {
      ++pos;
    }
    if (depth == 0 && (c == '"' || c == '}' || c == ']')) return;
  }
}

// Compares the JSON string token `token` (with its quotes) to `name`.
bool key_equals(std::string_view token, std::string_view name) {
  const std::string_view inner = token.substr(1, token.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == name;
  boost::system::error_code ec;
  const boost::json::value decoded =
      boost::json::parse(boost::json::string_view(token.data(), token.size()), ec);
  return !ec && decoded.is_string() &&
         std::string_view(decoded.get_string().data(), decoded.get_string().size()) == name;
}

}  // namespace

std::optional<std::string_view> raw_member(std::string_view text, std::string_view name) {
  std::size_t pos = 0;
  skip_space(text, pos);
  if (pos >= text.size() || text[pos] != '{') return std::nullopt;
  ++pos;
  std::optional<std::string_view> found;
  while (true) {
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != '"') return found;  // '}' or malformed
    const std::size_t key_start = pos;
    skip_string(text, pos);
    const std::string_view key = text.substr(key_start, pos - key_start);
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != ':') return found;
    ++pos;
    skip_space(text, pos);
    const std::size_t value_start = pos;
    skip_value(text, pos);
    if (key_equals(key, name)) found = text.substr(value_start, pos - value_start);
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != ',') return found;
    ++pos;
  }
}

std::vector<std::string_view> raw_elements(std::string_view text) {
  std::vector<std::string_view> elements;
  std::size_t pos = 0;
  skip_space(text, pos);
  if (pos >= text.size() || text[pos] != '[') return elements;
  ++pos;
  while (true) {
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] == ']') return elements;
    const std::size_t start = pos;
    skip_value(text, pos);
    elements.push_back(text.substr(start, pos - start));
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != ',') return elements;
    ++pos;
  }
}

bool contains_nul_escape(std::string_view text) {
  // Outside strings, valid JSON has no backslash; inside, a backslash always
  // starts an escape, so skipping the escaped character keeps "\\u0000" (an
  // escaped backslash, then the letters u0000) from matching.
  for (std::size_t pos = text.find('\\'); pos != std::string_view::npos;
       pos = text.find('\\', pos)) {
    if (pos + 1 < text.size() && text[pos + 1] == 'u' && text.substr(pos + 2, 4) == "0000") {
      return true;
    }
    pos += 2;
  }
  return false;
}

}  // namespace nself::core::protocol::detail
