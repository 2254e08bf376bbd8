#pragma once

// Internal to core/ws: the XOR masking of RFC 6455 5.3, shared by the decoder
// (unmasking client frames) and the encoder (masking client frames).

#include <array>
#include <cstddef>
#include <cstdint>

namespace nself::core::ws::detail {

// Writes src[i] ^ mask[(offset + i) % 4] to dst[i] for i < size, eight bytes at
// a time where possible. dst may equal src (in place) but must not otherwise
// overlap it. `offset` is the mask index of src[0] (0..3); returns the mask
// index of the byte after the last one, so a payload can be processed in pieces.
std::size_t mask_copy(std::uint8_t* dst, const std::uint8_t* src, std::size_t size,
                      const std::array<std::uint8_t, 4>& mask, std::size_t offset);

}  // namespace nself::core::ws::detail
