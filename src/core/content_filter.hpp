#pragma once

// Content filters (REALTIME_CONTENT_FILTERS): patterns whose matches are
// replaced by kRedacted in message content before it is stored or delivered
// (WebSocket messages and POST /api/channels/{channel}/messages).
//
// Patterns are Perl-syntax regular expressions run by Boost.Regex, whose
// matcher is non-recursive and gives up on runaway backtracking (it throws
// instead of overflowing the stack or spinning, unlike std::regex), so a
// hostile message cannot stall the server with a bad pattern/input pair.
//
// Pure; immutable after parsing, so one instance may be shared by all threads.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nself::core {

inline constexpr std::string_view kRedacted = "[redacted]";

class ContentFilter {
 public:
  // No patterns: redacts nothing.
  ContentFilter();
  ~ContentFilter();
  ContentFilter(const ContentFilter&);
  ContentFilter& operator=(const ContentFilter&);
  ContentFilter(ContentFilter&&) noexcept;
  ContentFilter& operator=(ContentFilter&&) noexcept;

  // Parses the REALTIME_CONTENT_FILTERS value: patterns separated by commas;
  // "\," is a comma inside a pattern (every other backslash is the regex's
  // own). Surrounding blanks are trimmed and blank entries skipped. A pattern
  // starting with "(?i)" is case-insensitive. At most kMaxPatterns patterns of
  // kMaxPatternBytes each. Error code "invalid_config" naming the pattern's
  // position and the regex error (the pattern itself is not echoed).
  static Result<ContentFilter> parse(std::string_view list);
  static constexpr std::size_t kMaxPatterns = 64;
  static constexpr std::size_t kMaxPatternBytes = 1024;

  bool empty() const;
  std::size_t size() const;

  // Redacts `text`: every match of every pattern (applied in order) becomes
  // kRedacted. Empty matches are ignored. When matching `text` with a pattern
  // exceeds the matcher's complexity limit, the whole text is redacted (fail
  // closed). Returns nullopt when nothing matched.
  std::optional<std::string> redact_text(std::string_view text) const;

  // Redacts every string inside the JSON value text `json_text`: string
  // values and object keys (not numbers or literals). A key is redacted as a
  // value is; if its new name is already taken in its object (by a key that
  // was not redacted, or by an earlier redacted one), it gets " (2)", " (3)",
  // ..., the first free name, so no member is lost and names stay unique.
  // Members keep their order. Returns nullopt when nothing matched, so
  // the caller keeps the bytes exactly as sent; otherwise the value
  // re-serialized as compact JSON. Text that cannot be inspected (not JSON,
  // or nested deeper than kMaxFilterJsonDepth) becomes the JSON string
  // "[redacted]" as a whole (fail closed).
  std::optional<std::string> redact_json(std::string_view json_text) const;
  // At least the protocol's frame depth (core/protocol kMaxJsonDepth), so any
  // content a client can send is inspected.
  static constexpr std::size_t kMaxFilterJsonDepth = 128;

 private:
  struct Patterns;
  std::shared_ptr<const Patterns> patterns_;
};

}  // namespace nself::core
