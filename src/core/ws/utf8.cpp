#include <array>
#include <cstring>
#include <string_view>

#include "core/ws/frame_codec.hpp"
#include "core/ws/utf8_validator.hpp"

namespace nself::core::ws {
namespace detail {
namespace {

// State layout: bits 0-7 lowest allowed next byte, bits 8-15 highest, bits
// 16-17 continuation bytes still due.
constexpr std::uint32_t expect(std::uint32_t due, std::uint32_t lo, std::uint32_t hi) {
  return (due << 16) | (hi << 8) | lo;
}
constexpr std::uint32_t kInvalid = 0xFFFFFFFF;

// The state after each possible first byte (RFC 3629 section 4's table).
constexpr std::array<std::uint32_t, 256> make_lead_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    if (b <= 0x7F) {
      table[b] = kUtf8Boundary;
    } else if (b >= 0xC2 && b <= 0xDF) {
      table[b] = expect(1, 0x80, 0xBF);
    } else if (b == 0xE0) {
      table[b] = expect(2, 0xA0, 0xBF);  // no overlong 3-byte forms
    } else if (b == 0xED) {
      table[b] = expect(2, 0x80, 0x9F);  // no surrogates U+D800..U+DFFF
    } else if (b >= 0xE1 && b <= 0xEF) {
      table[b] = expect(2, 0x80, 0xBF);
    } else if (b == 0xF0) {
      table[b] = expect(3, 0x90, 0xBF);  // no overlong 4-byte forms
    } else if (b >= 0xF1 && b <= 0xF3) {
      table[b] = expect(3, 0x80, 0xBF);
    } else if (b == 0xF4) {
      table[b] = expect(3, 0x80, 0x8F);  // nothing above U+10FFFF
    } else {
      table[b] = kInvalid;  // stray continuation bytes, C0, C1 (overlong), F5..FF
    }
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kLeadState = make_lead_table();

}  // namespace

bool utf8_advance(std::uint32_t& state, const std::uint8_t* data, std::size_t size) {
  std::uint32_t s = state;
  std::size_t i = 0;
  while (i < size) {
    if (s == kUtf8Boundary) {
      // ASCII runs, eight bytes at a time.
      while (i + 8 <= size) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        if (word & 0x8080808080808080ULL) break;
        i += 8;
      }
      if (i == size) break;
      const std::uint32_t next = kLeadState[data[i++]];
      if (next == kInvalid) return false;
      s = next;
    } else {
      const std::uint8_t byte = data[i++];
      if (byte < (s & 0xFF) || byte > ((s >> 8) & 0xFF)) return false;
      const std::uint32_t due = s >> 16;
      s = due == 1 ? kUtf8Boundary : expect(due - 1, 0x80, 0xBF);
    }
  }
  state = s;
  return true;
}

}  // namespace detail

bool is_valid_utf8(std::string_view text) {
  std::uint32_t state = detail::kUtf8Boundary;
  return detail::utf8_advance(state, reinterpret_cast<const std::uint8_t*>(text.data()),
                              text.size()) &&
         state == detail::kUtf8Boundary;
}

}  // namespace nself::core::ws
