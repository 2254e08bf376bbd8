#pragma once

// A spare file descriptor for the acceptor (issue 16, item 3). When accept()
// fails because the process is out of descriptors (EMFILE, ENFILE), the
// pending connection stays in the kernel's backlog and the next accept fails
// at once again: a loop that retries spins at 100% CPU. Freeing the spare,
// accepting one pending connection and closing it, then taking the spare
// back, sheds that client (it sees a reset, which it can retry) instead; the
// acceptor then waits a moment before trying again (Server::accept). This is
// the technique nginx and libuv users rely on.

namespace nself::server {

class DescriptorReserve {
 public:
  // Opens the spare (/dev/null). If that fails, shed_one() does nothing.
  DescriptorReserve();
  ~DescriptorReserve();
  DescriptorReserve(const DescriptorReserve&) = delete;
  DescriptorReserve& operator=(const DescriptorReserve&) = delete;

  // Accepts one pending connection of the listening socket `listen_fd` with
  // the spare's slot and closes it. True when one was shed. The spare is
  // reopened either way (when nothing else took its slot meanwhile).
  bool shed_one(int listen_fd);

  // Errors of accept() that mean "out of descriptors or memory".
  static bool is_exhaustion(int error_number);

 private:
  int spare_ = -1;
};

}  // namespace nself::server
