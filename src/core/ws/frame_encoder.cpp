#include <cassert>

#include "core/ws/frame_codec.hpp"
#include "core/ws/masking.hpp"

namespace nself::core::ws {
namespace {

constexpr std::size_t kMaxControlPayload = 125;
constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

// Used only in assertions.
[[maybe_unused]] bool is_control(Opcode opcode) {
  return (static_cast<std::uint8_t>(opcode) & 0x8) != 0;
}

// Appends a frame header with the shortest length encoding (RFC 6455 5.2).
void append_header(std::string& out, Opcode opcode, std::size_t length, bool fin, bool masked) {
  assert(!is_control(opcode) || (fin && length <= kMaxControlPayload));
  char header[10];
  std::size_t size = 2;
  header[0] = static_cast<char>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(opcode));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (length <= 125) {
    header[1] = static_cast<char>(mask_bit | static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    header[1] = static_cast<char>(mask_bit | 126);
    header[2] = static_cast<char>(length >> 8);
    header[3] = static_cast<char>(length);
    size = 4;
  } else {
    header[1] = static_cast<char>(mask_bit | 127);
    const auto wide = static_cast<std::uint64_t>(length);
    for (std::size_t i = 0; i < 8; ++i) header[2 + i] = static_cast<char>(wide >> (56 - 8 * i));
    size = 10;
  }
  out.append(header, size);
}

}  // namespace

void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin) {
  append_header(out, opcode, payload.size(), fin, false);
  out.append(payload);
}

void append_frame_header(std::string& out, Opcode opcode, std::size_t payload_length, bool fin) {
  append_header(out, opcode, payload_length, fin, false);
}

std::size_t unmasked_header_size(std::string_view frame) {
  assert(frame.size() >= 2 && (static_cast<std::uint8_t>(frame[1]) & 0x80) == 0);
  switch (static_cast<std::uint8_t>(frame[1]) & 0x7F) {
    case 126:
      return 4;
    case 127:
      return 10;
    default:
      return 2;
  }
}

std::string encode_frame(Opcode opcode, std::string_view payload, bool fin) {
  std::string out;
  out.reserve(payload.size() + 10);
  append_frame(out, opcode, payload, fin);
  return out;
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
  if (code == close_code::kNoStatus) return encode_frame(Opcode::kClose, {});
  if (reason.size() > kMaxCloseReason) {
    // Cut before the character that crosses the limit: step back over
    // continuation bytes (10xxxxxx) to the start of that character.
    std::size_t cut = kMaxCloseReason;
    while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  std::string payload;
  payload.reserve(2 + reason.size());
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return encode_frame(Opcode::kClose, payload);
}

void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask, bool fin) {
  append_header(out, opcode, payload.size(), fin, true);
  out.append(reinterpret_cast<const char*>(mask.data()), mask.size());
  const std::size_t at = out.size();
  out.resize(at + payload.size());
  detail::mask_copy(reinterpret_cast<std::uint8_t*>(out.data()) + at,
                    reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size(), mask, 0);
}

}  // namespace nself::core::ws
