#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nself::store {

// A random (version 4) UUID in lower-case canonical text, from OpenSSL's
// RAND_bytes. Both backends use it, so ids look the same everywhere.
// Throws StoreError if the random generator fails.
std::string new_uuid();

// `text` in lower case when it has the canonical UUID form, else none. Ids
// from callers go through this, so "ABC..." and "abc..." name the same row on
// both backends and a non-UUID simply matches nothing.
std::optional<std::string> canonical_uuid(std::string_view text);

}  // namespace nself::store
