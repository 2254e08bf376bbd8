#include "core/content_filter.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/regex.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace nself::core {

struct ContentFilter::Patterns {
  std::vector<boost::regex> regexes;
};

namespace {

namespace json = boost::json;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Splits at ',' not preceded by a backslash; "\," becomes ','.
std::vector<std::string> split_patterns(std::string_view list) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const char c = list[i];
    if (c == '\\' && i + 1 < list.size() && list[i + 1] == ',') {
      parts.back().push_back(',');
      ++i;
    } else if (c == ',') {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  return parts;
}

// Redacts one string with every pattern; true when something changed.
bool redact(const std::vector<boost::regex>& regexes, std::string& text) {
  bool changed = false;
  for (const auto& regex : regexes) {
    try {
      std::string out;
      auto last = text.cbegin();
      bool matched = false;
      for (boost::sregex_iterator it(text.cbegin(), text.cend(), regex), end; it != end; ++it) {
        const auto& match = (*it)[0];
        if (match.length() == 0) continue;
        out.append(last, match.first);
        out.append(kRedacted);
        last = match.second;
        matched = true;
      }
      if (matched) {
        out.append(last, text.cend());
        text = std::move(out);
        changed = true;
      }
    } catch (const std::runtime_error&) {
      // Boost.Regex gave up (complexity or memory limit): fail closed.
      text = std::string(kRedacted);
      return true;
    }
  }
  return changed;
}

// `object` with its members renamed to `new_keys` (nullopt: unchanged), in
// the same order. A new name already taken (by a key that was not renamed, or
// by an earlier renamed one) gets " (2)", " (3)", ...: the first free one, so
// no member is lost and the names stay unique.
json::object rename_keys(json::object object,
                         const std::vector<std::optional<std::string>>& new_keys) {
  std::unordered_set<std::string> taken;
  std::size_t index = 0;
  for (const auto& member : object) {
    if (!new_keys[index++]) taken.emplace(member.key());
  }
  json::object renamed(object.storage());
  renamed.reserve(object.size());
  index = 0;
  for (auto& member : object) {
    const std::optional<std::string>& new_key = new_keys[index++];
    if (!new_key) {
      renamed.emplace(member.key(), std::move(member.value()));
      continue;
    }
    std::string name = *new_key;
    for (std::size_t suffix = 2; taken.contains(name); ++suffix) {
      name = *new_key + " (" + std::to_string(suffix) + ")";
    }
    taken.insert(name);
    renamed.emplace(name, std::move(member.value()));
  }
  return renamed;
}

bool redact_value(const std::vector<boost::regex>& regexes, json::value& value) {
  bool changed = false;
  if (value.is_string()) {
    std::string text(value.as_string());
    if (redact(regexes, text)) {
      value = json::string(text);
      changed = true;
    }
  } else if (value.is_array()) {
    for (auto& element : value.as_array()) changed = redact_value(regexes, element) || changed;
  } else if (value.is_object()) {
    json::object& object = value.as_object();
    bool renamed = false;
    std::vector<std::optional<std::string>> new_keys(object.size());
    std::size_t index = 0;
    for (auto& member : object) {
      std::string key(member.key());
      if (redact(regexes, key)) {
        new_keys[index] = std::move(key);
        renamed = true;
      }
      ++index;
      changed = redact_value(regexes, member.value()) || changed;
    }
    if (renamed) {
      value = rename_keys(std::move(object), new_keys);
      changed = true;
    }
  }
  return changed;
}

}  // namespace

ContentFilter::ContentFilter() = default;
ContentFilter::~ContentFilter() = default;
ContentFilter::ContentFilter(const ContentFilter&) = default;
ContentFilter& ContentFilter::operator=(const ContentFilter&) = default;
ContentFilter::ContentFilter(ContentFilter&&) noexcept = default;
ContentFilter& ContentFilter::operator=(ContentFilter&&) noexcept = default;

Result<ContentFilter> ContentFilter::parse(std::string_view list) {
  auto patterns = std::make_shared<Patterns>();
  std::size_t position = 0;
  for (const std::string& raw : split_patterns(list)) {
    const std::string_view entry = trim(raw);
    if (entry.empty()) continue;
    ++position;
    const std::string where = "pattern " + std::to_string(position);
    if (position > kMaxPatterns) {
      return Error{"invalid_config", "more than " + std::to_string(kMaxPatterns) + " patterns"};
    }
    if (entry.size() > kMaxPatternBytes) {
      return Error{"invalid_config",
                   where + " is longer than " + std::to_string(kMaxPatternBytes) + " bytes"};
    }
    std::string_view pattern = entry;
    boost::regex::flag_type flags = boost::regex::perl;
    if (pattern.starts_with("(?i)")) {
      pattern.remove_prefix(4);
      flags |= boost::regex::icase;
    }
    try {
      patterns->regexes.emplace_back(pattern.begin(), pattern.end(), flags);
    } catch (const boost::regex_error& error) {
      // error.what() quotes the pattern; the position is enough to find the mistake.
      return Error{"invalid_config", where +
                                         " is not a valid regular expression (error at "
                                         "character " +
                                         std::to_string(error.position()) + ")"};
    }
  }
  ContentFilter filter;
  if (!patterns->regexes.empty()) filter.patterns_ = std::move(patterns);
  return filter;
}

bool ContentFilter::empty() const {
  return patterns_ == nullptr;
}

std::size_t ContentFilter::size() const {
  return patterns_ ? patterns_->regexes.size() : 0;
}

std::optional<std::string> ContentFilter::redact_text(std::string_view text) const {
  if (!patterns_) return std::nullopt;
  std::string copy(text);
  if (!redact(patterns_->regexes, copy)) return std::nullopt;
  return copy;
}

std::optional<std::string> ContentFilter::redact_json(std::string_view json_text) const {
  if (!patterns_) return std::nullopt;
  boost::system::error_code error;
  json::parse_options options;
  options.max_depth = kMaxFilterJsonDepth;  // Boost.JSON's default (32) is below the protocol's
  json::value value = json::parse(json_text, error, {}, options);
  // Content the filters cannot inspect is not let through (fail closed).
  if (error) return "\"" + std::string(kRedacted) + "\"";
  if (!redact_value(patterns_->regexes, value)) return std::nullopt;
  return json::serialize(value);
}

}  // namespace nself::core
