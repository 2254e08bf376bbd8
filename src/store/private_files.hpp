#pragma once

// Files that hold secrets or private data (.env, the state directory, the
// SQLite database, logs) are created owner-only from the start: the mode is
// given to mkdir/open, never set by a chmod afterwards, so that there is no
// moment at which others may open them (docs/SECURITY.md, "Files").

#include <filesystem>
#include <system_error>

namespace nself::store {

// Creates `dir` and its missing parents, each new one with mode 0700 (less the
// umask). Folders that exist are left as they are. Returns the first error.
std::error_code create_private_directories(const std::filesystem::path& dir);

// Creates `file` empty with mode 0600 (less the umask) when it does not exist,
// and its missing folders as create_private_directories() does; an existing
// file is left as it is (not even opened). Returns the first error.
std::error_code create_private_file(const std::filesystem::path& file);

}  // namespace nself::store
