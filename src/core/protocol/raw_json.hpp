#pragma once

// Locating values inside JSON text without re-parsing them, so that a
// message's "content" (or a presence "meta") is stored and forwarded as the
// exact bytes the client sent. Only for text already validated by a JSON
// parser: these functions assume well-formedness and do not check it.

#include <optional>
#include <string_view>
#include <vector>

namespace nself::core::protocol::detail {

// The raw text of the value of member `name` of the JSON object `object_text`
// (leading whitespace allowed). When the key occurs more than once the last
// occurrence is returned, matching Boost.JSON, which keeps the last duplicate.
// nullopt when absent or when `object_text` is not an object.
std::optional<std::string_view> raw_member(std::string_view object_text, std::string_view name);

// The raw text of each element of the JSON array `array_text`.
std::vector<std::string_view> raw_elements(std::string_view array_text);

// True when a string of the JSON text `json_text` (a value or a key, at any
// depth) holds the character U+0000, which valid JSON can only write as the
// escape \u0000. PostgreSQL's jsonb cannot store it,
// so both backends refuse it (docs/PROTOCOL.md, "Limits"). One pass, no parse.
bool contains_nul_escape(std::string_view json_text);

}  // namespace nself::core::protocol::detail
