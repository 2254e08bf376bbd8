#pragma once

// ISO-8601 timestamps as the protocol and the SQLite store write them.
// Pure functions: no clock is read here.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nself::core {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

// "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC, always 24 characters for the years
// 0000..9999, so the text sorts in time order. Times outside that range are
// written with as many year digits as needed (and a '-' before negative years);
// such text is not sortable.
std::string format_iso8601(Millis time);

// Parses "YYYY-MM-DDTHH:MM:SS" followed by an optional fraction of 1..9 digits
// (kept to the millisecond, truncated) and a zone: 'Z' or "+hh:mm" / "-hh:mm".
// The 'T' may also be written 't' and the 'Z' 'z' (RFC 3339). Fields must be
// in range (a real calendar date, hour 0..23, minute and second 0..59, offset
// below 24:00). Anything else (missing zone, extra text, a leap second) gives
// std::nullopt.
std::optional<Millis> parse_iso8601(std::string_view text);

}  // namespace nself::core
