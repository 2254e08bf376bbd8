#pragma once

// Appending JSON pieces to a std::string: the server's events are built by
// string appends around escaped strings and already-serialized JSON values
// (message content), which is the fan-out hot path. Pure, thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/protocol/requests.hpp"

namespace nself::core::protocol {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

namespace detail {

// Appends `text` as a JSON string literal with its quotes. Escapes '"', '\\'
// and control characters (\b \f \n \r \t, others as \u00XX) like Boost.JSON's
// serializer; other UTF-8 is written as is. Bytes that are not valid UTF-8
// are replaced by U+FFFD so that the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

// Appends a quoted ISO-8601 UTC timestamp with milliseconds,
// e.g. "2026-01-30T10:00:00.000Z". Years are clamped to 0000..9999.
void append_timestamp(std::string& out, Timestamp time);

// Appends the decimal integer.
void append_integer(std::string& out, std::int64_t value);

// Appends `,"ref":<ref>` when the request had a ref, nothing otherwise.
void append_ref_member(std::string& out, const Ref& ref);

}  // namespace detail
}  // namespace nself::core::protocol
