#pragma once

// Internal to core/ws: an incremental UTF-8 validator (RFC 3629), so a text
// message can be checked piece by piece as its fragments arrive and rejected
// at the first invalid byte.

#include <cstddef>
#include <cstdint>

namespace nself::core::ws::detail {

// The validator's whole state fits in 32 bits: 0 means "at a character
// boundary"; otherwise it holds how many continuation bytes are still due and
// the range allowed for the next one (which is how overlongs, surrogates and
// code points above U+10FFFF are excluded).
inline constexpr std::uint32_t kUtf8Boundary = 0;

// Advances `state` over `size` bytes. Returns false as soon as a byte cannot
// continue a valid UTF-8 sequence (`state` is then meaningless). A true result
// with `state` != kUtf8Boundary means the input ends inside a character.
bool utf8_advance(std::uint32_t& state, const std::uint8_t* data, std::size_t size);

}  // namespace nself::core::ws::detail
