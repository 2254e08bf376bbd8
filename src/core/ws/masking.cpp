#include "core/ws/masking.hpp"

#include <cassert>
#include <cstring>

namespace nself::core::ws::detail {

std::size_t mask_copy(std::uint8_t* dst, const std::uint8_t* src, std::size_t size,
                      const std::array<std::uint8_t, 4>& mask, std::size_t offset) {
  assert(offset < 4);
  // The mask rotated so that key[0] applies to src[0]; repeated to 8 bytes it
  // applies to every 8-byte word, since 8 is a multiple of the mask length.
  std::uint8_t key[8];
  for (std::size_t i = 0; i < 8; ++i) key[i] = mask[(offset + i) % 4];
  std::uint64_t key64;
  std::memcpy(&key64, key, 8);

  std::size_t i = 0;
  // Four words per iteration; memcpy makes unaligned loads and stores legal
  // and compiles to plain moves.
  for (; i + 32 <= size; i += 32) {
    std::uint64_t w[4];
    std::memcpy(w, src + i, 32);
    w[0] ^= key64;
    w[1] ^= key64;
    w[2] ^= key64;
    w[3] ^= key64;
    std::memcpy(dst + i, w, 32);
  }
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= key64;
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < size; ++i) dst[i] = src[i] ^ key[i % 8];
  return (offset + size) % 4;
}

}  // namespace nself::core::ws::detail
