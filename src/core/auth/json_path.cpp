#include "core/auth/json_path.hpp"

#include <boost/json/value.hpp>
#include <cctype>
#include <limits>

namespace nself::core::auth {
namespace {

// The path as written, control characters escaped (messages are one line).
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Error path_error(std::string_view text, std::string_view expected) {
  return Error{"invalid_config", "JSON path \"" + printable(text) + "\": expected " +
                                     std::string(expected) +
                                     " (e.g. $.hasura.claims, $['https://example.com/claims'])"};
}

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

}  // namespace

Result<JsonPath> parse_json_path(std::string_view text) {
  JsonPath path;
  std::size_t at = 0;
  if (at < text.size() && text[at] == '$') ++at;
  if (at == text.size()) {
    if (text.empty()) return path_error(text, "a path");
    return path;  // "$": the root
  }
  while (at < text.size()) {
    const bool dotted = text[at] == '.';
    if (dotted) ++at;
    if (at == text.size()) return path_error(text, "a name after \".\"");
    if (text[at] == '[') {
      ++at;
      if (at == text.size()) return path_error(text, "an index or a quoted name after \"[\"");
      if (std::isdigit(static_cast<unsigned char>(text[at])) != 0) {
        std::size_t index = 0;
        while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) != 0) {
          const auto digit = static_cast<std::size_t>(text[at] - '0');
          if (index > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
            return path_error(text, "a smaller index");
          }
          index = index * 10 + digit;
          ++at;
        }
        path.emplace_back(index);
      } else if (text[at] == '\'' || text[at] == '"') {
        const char quote = text[at++];
        std::string name;
        while (at < text.size() && text[at] != quote) {
          if (text[at] == '\\') {
            ++at;
            if (at == text.size()) break;
          }
          name.push_back(text[at++]);
        }
        if (at == text.size()) return path_error(text, "a closing quote");
        ++at;
        path.emplace_back(std::move(name));
      } else {
        return path_error(text, "an index or a quoted name after \"[\"");
      }
      if (at == text.size() || text[at] != ']') return path_error(text, "\"]\"");
      ++at;
      continue;
    }
    // A bare name is allowed first ("hasura.claims") and after a dot.
    if (!dotted && !path.empty()) return path_error(text, "\".\" or \"[\" between steps");
    if (!is_name_start(text[at])) {
      return path_error(text, "a name of letters, digits, \"_\" and \"-\" (quote others: ['...'])");
    }
    const std::size_t start = at;
    while (at < text.size() && is_name_char(text[at])) ++at;
    path.emplace_back(std::string(text.substr(start, at - start)));
  }
  return path;
}

const boost::json::value* find_json_path(const boost::json::value& document, const JsonPath& path) {
  const boost::json::value* current = &document;
  for (const JsonPathStep& step : path) {
    if (const std::string* name = std::get_if<std::string>(&step)) {
      const boost::json::object* object = current->if_object();
      if (object == nullptr) return nullptr;
      current = object->if_contains(boost::json::string_view(name->data(), name->size()));
    } else {
      const boost::json::array* array = current->if_array();
      const std::size_t index = std::get<std::size_t>(step);
      if (array == nullptr || index >= array->size()) return nullptr;
      current = &(*array)[index];
    }
    if (current == nullptr) return nullptr;
  }
  return current;
}

const boost::json::value* find_member_ignoring_case(const boost::json::object& object,
                                                    std::string_view name) {
  for (const auto& member : object) {
    const std::string_view key(member.key().data(), member.key().size());
    if (key.size() != name.size()) continue;
    bool equal = true;
    for (std::size_t index = 0; index < key.size() && equal; ++index) {
      equal = std::tolower(static_cast<unsigned char>(key[index])) ==
              std::tolower(static_cast<unsigned char>(name[index]));
    }
    if (equal) return &member.value();
  }
  return nullptr;
}

std::string to_string(const JsonPath& path) {
  std::string out = "$";
  for (const JsonPathStep& step : path) {
    if (const std::string* name = std::get_if<std::string>(&step)) {
      const bool plain = !name->empty() && is_name_start((*name)[0]) &&
                         name->find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                             "WXYZ0123456789_-") == std::string::npos;
      if (plain) {
        out += "." + *name;
      } else {
        out += "['";
        for (const char c : *name) {
          if (c == '\'' || c == '\\') out.push_back('\\');
          out.push_back(c);
        }
        out += "']";
      }
    } else {
      out += "[" + std::to_string(std::get<std::size_t>(step)) + "]";
    }
  }
  return out;
}

}  // namespace nself::core::auth
