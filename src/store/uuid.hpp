#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nself::store {

// A random (version 4) UUID in lower-case canonical text, from OpenSSL's
// RAND_bytes. Both backends use it, so ids look the same everywhere.
// Throws StoreError if the random generator fails.
std::string new_uuid();

// A time-ordered (version 7, RFC 9562) UUID for a message row: the first 48
// bits are `now` in Unix milliseconds, the other 74 (apart from version and
// variant) random. Ids made later sort after earlier ones (within the same
// millisecond, in any order), so inserting a batch of messages touches the
// right-hand end of the id index instead of one random page per row. Throws
// StoreError if the random generator fails.
std::string new_message_uuid(std::chrono::sys_time<std::chrono::milliseconds> now);

// `text` in lower case when it has the canonical UUID form, else none. Ids
// from callers go through this, so "ABC..." and "abc..." name the same row on
// both backends and a non-UUID simply matches nothing.
std::optional<std::string> canonical_uuid(std::string_view text);

}  // namespace nself::store
