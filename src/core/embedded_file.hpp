#pragma once

#include <cstddef>
#include <string_view>

namespace nself {

// A file compiled into the binary by cmake/embed_files.cmake.
struct EmbeddedFile {
  std::string_view name;  // path relative to the embedded folder, e.g. "0001_initial.sqlite.sql"
  std::string_view contents;
};

}  // namespace nself
