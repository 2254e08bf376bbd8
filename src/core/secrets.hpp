#pragma once

#include <cstddef>
#include <string>

namespace nself::core {

// `bytes` cryptographically random bytes (OpenSSL RAND_bytes) as lower-case
// hex, for generated secrets. Throws std::runtime_error if the generator fails.
std::string random_hex(std::size_t bytes);

}  // namespace nself::core
