#pragma once

// SQLite result codes as the Store's exceptions (store/store.hpp, "Errors"):
// a locked, missing, unwritable, full or corrupt file is StoreUnavailable
// (named with its path and what to check), anything else StoreError.

#include <sqlite3.h>

#include <filesystem>
#include <string_view>

namespace nself::store {

// `db` may be null (the message then comes from the code alone); `context`
// is what failed (an SQL text, "open").
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, const std::filesystem::path& path,
                                     std::string_view context);

}  // namespace nself::store
