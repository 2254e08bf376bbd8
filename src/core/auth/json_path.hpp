#pragma once

// The JSONPath subset Hasura accepts in HASURA_GRAPHQL_JWT_SECRET
// (claims_namespace_path, and the "path" of a claims_map value), and its
// lookup in a JSON document. Pure.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace boost::json {
class object;
class value;
}  // namespace boost::json

namespace nself::core::auth {

// One step: an object member by name, or an array element by index.
using JsonPathStep = std::variant<std::string, std::size_t>;
// Steps from the document's root; empty is the root itself ("$").
using JsonPath = std::vector<JsonPathStep>;

// Parses Hasura's syntax: an optional leading "$", then steps, each one of
// `.name` or `name` (a letter or "_", then letters, digits, "_" or "-"),
// `[42]`, `['any key']` or `["any key"]` (a backslash escapes the next
// character), the bracketed forms optionally preceded by ".". "$" alone is the
// root. Errors: code "invalid_config", message naming what was expected.
Result<JsonPath> parse_json_path(std::string_view text);

// The value `path` leads to in `document`, or nullptr when a step names a
// member that is absent, an index past the end, or descends into a value that
// is not an object (name steps) or not an array (index steps).
const boost::json::value* find_json_path(const boost::json::value& document, const JsonPath& path);

// The member of `object` whose name equals `name` ignoring ASCII case, or
// nullptr: Hasura's session variables (x-hasura-*) are case-insensitive, in
// tokens and in claims_map alike.
const boost::json::value* find_member_ignoring_case(const boost::json::object& object,
                                                    std::string_view name);

// `path` written back in Hasura's syntax ("$.a[0]['b.c']"), for messages.
std::string to_string(const JsonPath& path);

}  // namespace nself::core::auth
