#include "store/private_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace nself::store {

std::error_code create_private_directories(const std::filesystem::path& dir) {
  std::error_code error;
  if (dir.empty() || std::filesystem::is_directory(dir, error)) return {};
  const auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    if (auto parent_error = create_private_directories(parent)) return parent_error;
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) return {errno, std::generic_category()};
    // Made meanwhile by someone else, or a file in the way.
    if (!std::filesystem::is_directory(dir, error)) {
      return std::make_error_code(std::errc::not_a_directory);
    }
  }
  return {};
}

std::error_code create_private_file(const std::filesystem::path& file) {
  if (file.has_parent_path()) {
    if (auto error = create_private_directories(file.parent_path())) return error;
  }
  // O_EXCL: an existing file is not opened at all (it may be read-only).
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return errno == EEXIST ? std::error_code() : std::error_code(errno, std::generic_category());
  }
  ::close(fd);
  return {};
}

}  // namespace nself::store
