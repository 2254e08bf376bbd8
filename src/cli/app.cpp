#include "cli/app.hpp"

#include <iostream>

namespace nself::cli {

int run(int, char**) {
  std::cout << "nself " << NSELF_VERSION << "\n";
  return 0;
}

}  // namespace nself::cli
