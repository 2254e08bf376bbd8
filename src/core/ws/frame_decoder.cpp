#include <algorithm>
#include <cassert>
#include <utility>

#include "core/ws/frame_codec.hpp"
#include "core/ws/masking.hpp"
#include "core/ws/utf8_validator.hpp"

namespace nself::core::ws {
namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kRsvBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7F;
constexpr std::size_t kMaxControlPayload = 125;
// Up to this many bytes of a declared data frame are reserved up front; past
// it the buffer grows as payload actually arrives, so a header alone cannot
// make the server allocate a whole max-size message.
constexpr std::size_t kMaxUpfrontReserve = 16 * 1024;

bool is_control(Opcode opcode) {
  return (static_cast<std::uint8_t>(opcode) & 0x8) != 0;
}

bool is_known_opcode(std::uint8_t opcode) {
  switch (opcode) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x8:
    case 0x9:
    case 0xA:
      return true;
    default:
      return false;
  }
}

// Bytes of extended payload length announced by the second header byte.
std::size_t length_field_size(std::uint8_t b1) {
  const std::uint8_t length = b1 & kLengthBits;
  return length == 126 ? 2 : length == 127 ? 8 : 0;
}

// Header size implied by the second header byte.
std::size_t header_size(std::uint8_t b1) {
  return 2 + length_field_size(b1) + ((b1 & kMaskBit) ? 4 : 0);
}

// The payload length of a header whose length bytes are complete.
std::uint64_t payload_length(const std::uint8_t* header) {
  const std::size_t field = length_field_size(header[1]);
  if (field == 0) return header[1] & kLengthBits;
  std::uint64_t length = 0;
  for (std::size_t i = 0; i < field; ++i) length = (length << 8) | header[2 + i];
  return length;
}

}  // namespace

FrameDecoder::FrameDecoder(DecoderLimits limits) : limits_(limits) {}

std::optional<Violation> FrameDecoder::fail(std::uint16_t code, std::string reason) {
  violation_ = std::make_unique<Violation>(Violation{code, std::move(reason)});
  return *violation_;
}

std::optional<Violation> FrameDecoder::feed(std::string_view bytes, std::vector<Event>& out) {
  if (violation_) return *violation_;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  while (pos < size && !closed_) {
    if (in_frame_) {
      const auto take = static_cast<std::size_t>(
          std::min<std::uint64_t>(frame_remaining_, static_cast<std::uint64_t>(size - pos)));
      if (auto violation = consume_payload(data + pos, take)) return violation;
      pos += take;
      if (frame_remaining_ == 0) {
        if (auto violation = finish_frame(out)) return violation;
      }
      continue;
    }

    // A frame header. When it is complete in the input, parse it in place.
    if (header_size_ == 0 && size - pos >= 2 && size - pos >= header_size(data[pos + 1])) {
      if (auto violation = check_first_bytes(data[pos], data[pos + 1])) return violation;
      if (auto violation = check_length(data + pos)) return violation;
      start_frame(data + pos);
      pos += header_size(data[pos + 1]);
      if (frame_remaining_ == 0) {
        if (auto violation = finish_frame(out)) return violation;
      }
      continue;
    }
    // A header split across feeds: collected byte by byte (14 at most), each
    // part checked as soon as it is complete, so that a frame announcing too
    // much fails before its mask key arrives.
    header_[header_size_++] = data[pos++];
    if (header_size_ < 2) continue;
    if (header_size_ == 2) {
      if (auto violation = check_first_bytes(header_[0], header_[1])) return violation;
    }
    if (header_size_ == 2 + length_field_size(header_[1])) {
      if (auto violation = check_length(header_.data())) return violation;
    }
    if (header_size_ < header_size(header_[1])) continue;
    header_size_ = 0;
    start_frame(header_.data());
    if (frame_remaining_ == 0) {
      if (auto violation = finish_frame(out)) return violation;
    }
  }
  return std::nullopt;
}

std::optional<Violation> FrameDecoder::check_first_bytes(std::uint8_t b0, std::uint8_t b1) {
  if (b0 & kRsvBits) return fail(close_code::kProtocolError, "reserved bits set");
  const std::uint8_t raw_opcode = b0 & kOpcodeBits;
  if (!is_known_opcode(raw_opcode)) return fail(close_code::kProtocolError, "unknown opcode");
  const auto opcode = static_cast<Opcode>(raw_opcode);
  const bool masked = (b1 & kMaskBit) != 0;
  if (masked != limits_.expect_masked) {
    return fail(close_code::kProtocolError,
                limits_.expect_masked ? "client frame not masked" : "server frame masked");
  }
  const std::uint8_t length = b1 & kLengthBits;
  if (is_control(opcode)) {
    if (!(b0 & kFinBit)) return fail(close_code::kProtocolError, "fragmented control frame");
    if (length > kMaxControlPayload) {
      return fail(close_code::kProtocolError, "control frame payload over 125 bytes");
    }
    if (opcode == Opcode::kClose && length == 1) {
      return fail(close_code::kProtocolError, "close payload of one byte");
    }
  } else if (opcode == Opcode::kContinuation) {
    if (!in_message_) return fail(close_code::kProtocolError, "continuation without a message");
  } else if (in_message_) {
    return fail(close_code::kProtocolError, "new message before the fragmented one ended");
  }
  return std::nullopt;
}

std::optional<Violation> FrameDecoder::check_length(const std::uint8_t* header) {
  const std::uint64_t length = payload_length(header);
  if (length >> 63) return fail(close_code::kProtocolError, "64-bit length with the top bit set");
  // Control frame lengths were checked with the first two bytes.
  if (is_control(static_cast<Opcode>(header[0] & kOpcodeBits))) return std::nullopt;
  // message_.size() <= max_message_bytes always holds, so this cannot wrap.
  if (length > limits_.max_message_bytes - message_.size()) {
    return fail(close_code::kMessageTooBig, "message over the size limit");
  }
  return std::nullopt;
}

void FrameDecoder::start_frame(const std::uint8_t* header) {
  const std::uint64_t length = payload_length(header);
  frame_opcode_ = static_cast<Opcode>(header[0] & kOpcodeBits);
  frame_fin_ = (header[0] & kFinBit) != 0;
  if (!is_control(frame_opcode_)) {
    if (frame_opcode_ != Opcode::kContinuation) {
      in_message_ = true;
      message_opcode_ = frame_opcode_;
      utf8_state_ = detail::kUtf8Boundary;
    }
    message_.reserve(message_.size() +
                     static_cast<std::size_t>(std::min<std::uint64_t>(length, kMaxUpfrontReserve)));
  }
  if (header[1] & kMaskBit) {
    std::copy_n(header + header_size(header[1]) - 4, 4, mask_.begin());
  } else {
    mask_ = {0, 0, 0, 0};
  }
  mask_offset_ = 0;
  frame_remaining_ = length;
  in_frame_ = true;
}

std::optional<Violation> FrameDecoder::consume_payload(const std::uint8_t* data, std::size_t size) {
  std::string& target = is_control(frame_opcode_) ? control_ : message_;
  const std::size_t old_size = target.size();
  target.resize(old_size + size);
  auto* dst = reinterpret_cast<std::uint8_t*>(target.data()) + old_size;
  mask_offset_ = detail::mask_copy(dst, data, size, mask_, mask_offset_);
  frame_remaining_ -= size;
  // Text is validated as it arrives, so a bad byte fails the connection before
  // the rest of the message is received.
  if (!is_control(frame_opcode_) && message_opcode_ == Opcode::kText &&
      !detail::utf8_advance(utf8_state_, dst, size)) {
    return fail(close_code::kInvalidPayload, "invalid UTF-8 in a text message");
  }
  return std::nullopt;
}

std::optional<Violation> FrameDecoder::finish_frame(std::vector<Event>& out) {
  in_frame_ = false;
  switch (frame_opcode_) {
    case Opcode::kPing:
    case Opcode::kPong: {
      Event event;
      event.kind = frame_opcode_ == Opcode::kPing ? Event::Kind::kPing : Event::Kind::kPong;
      event.payload = std::move(control_);
      control_.clear();
      out.push_back(std::move(event));
      return std::nullopt;
    }
    case Opcode::kClose:
      return finish_close(out);
    default:
      break;
  }
  if (!frame_fin_) return std::nullopt;
  const bool text = message_opcode_ == Opcode::kText;
  if (text && utf8_state_ != detail::kUtf8Boundary) {
    return fail(close_code::kInvalidPayload, "text message ends inside a UTF-8 sequence");
  }
  Event event;
  event.kind = text ? Event::Kind::kText : Event::Kind::kBinary;
  event.payload = std::move(message_);  // no copy: the buffer becomes the event's
  message_.clear();
  in_message_ = false;
  out.push_back(std::move(event));
  return std::nullopt;
}

std::optional<Violation> FrameDecoder::finish_close(std::vector<Event>& out) {
  Event event;
  event.kind = Event::Kind::kClose;
  if (!control_.empty()) {
    assert(control_.size() >= 2);  // length 1 is rejected from the header
    const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(control_[0]) << 8) |
                                                 static_cast<std::uint8_t>(control_[1]));
    if (!is_sendable_close_code(code)) {
      return fail(close_code::kProtocolError, "close code that may not be sent");
    }
    std::string_view reason(control_);
    reason.remove_prefix(2);
    if (!is_valid_utf8(reason)) return fail(close_code::kInvalidPayload, "close reason not UTF-8");
    event.close_code = code;
    event.payload.assign(reason);
  }
  control_.clear();
  closed_ = true;
  out.push_back(std::move(event));
  return std::nullopt;
}

bool FrameDecoder::mid_message() const {
  return in_frame_ || in_message_ || header_size_ > 0;
}

std::size_t FrameDecoder::buffered_bytes() const {
  return header_size_ + message_.size() + control_.size();
}

void FrameDecoder::shrink_to_fit() {
  if (!in_message_) std::string().swap(message_);
  if (!in_frame_ || !is_control(frame_opcode_)) std::string().swap(control_);
}

}  // namespace nself::core::ws
