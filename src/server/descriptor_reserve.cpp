#include "server/descriptor_reserve.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace nself::server {

namespace {
int open_spare() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}
}  // namespace

DescriptorReserve::DescriptorReserve() : spare_(open_spare()) {}

DescriptorReserve::~DescriptorReserve() {
  if (spare_ >= 0) ::close(spare_);
}

bool DescriptorReserve::shed_one(int listen_fd) {
  if (spare_ < 0) {
    spare_ = open_spare();
    return false;
  }
  ::close(spare_);
  spare_ = -1;
  // The listening socket is non-blocking (Asio makes it so): nothing pending
  // gives EAGAIN rather than a wait.
  int shed = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (shed >= 0) ::close(shed);
  spare_ = open_spare();
  return shed >= 0;
}

bool DescriptorReserve::is_exhaustion(int error_number) {
  return error_number == EMFILE || error_number == ENFILE || error_number == ENOBUFS ||
         error_number == ENOMEM;
}

}  // namespace nself::server
