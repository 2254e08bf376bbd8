#pragma once

// The migrations compiled into the binary (src/store/sql/, embedded by
// cmake/embed_files.cmake). A file is named NNNN_<name>.<backend>.sql; NNNN is
// its version. Each backend applies its own files in version order.

#include <string>
#include <string_view>
#include <vector>

namespace nself::store {

struct Migration {
  int version = 0;
  std::string name;  // "initial" for 0001_initial.sqlite.sql
  std::string_view sql;
};

// The migrations of `backend` ("sqlite" or "postgres"), by ascending version.
// Throws StoreError on a misnamed file or a version used twice (a build defect).
std::vector<Migration> migrations_for(std::string_view backend);

}  // namespace nself::store
