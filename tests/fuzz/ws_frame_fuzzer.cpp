// libFuzzer target: the WebSocket frame decoder and UTF-8 validator (core/ws).
// Input: one byte of options (low bits: split size, bit 5: a client-side
// decoder expecting unmasked frames, bit 6: a small message limit), then the
// byte stream.
//
// Properties: nothing crashes; feeding the stream at once or in pieces gives
// the same events and the same violation (the decoder is split-agnostic);
// text events and close reasons are valid UTF-8; no event exceeds the limit;
// the incremental UTF-8 validator agrees with the whole-buffer one; a frame we
// encode decodes back to its payload.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws/frame_codec.hpp"
#include "core/ws/utf8_validator.hpp"
#include "fuzz_check.hpp"

namespace {

namespace ws = nself::core::ws;

struct Decoded {
  std::vector<ws::Event> events;
  std::optional<ws::Violation> violation;
};

Decoded decode(std::string_view bytes, std::size_t piece, ws::DecoderLimits limits) {
  Decoded decoded;
  ws::FrameDecoder decoder(limits);
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    auto violation = decoder.feed(bytes.substr(at, piece), decoded.events);
    if (violation) {
      decoded.violation = violation;
      break;
    }
    if (!decoder.mid_message()) decoder.shrink_to_fit();
  }
  return decoded;
}

bool same(const ws::Event& a, const ws::Event& b) {
  return a.kind == b.kind && a.payload == b.payload && a.close_code == b.close_code;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t options = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ws::DecoderLimits limits;
  limits.expect_masked = (options & 0x20) == 0;
  limits.max_message_bytes = (options & 0x40) != 0 ? 200 : 64 * 1024;
  const std::size_t piece = 1 + (options & 0x1f);

  const Decoded whole = decode(bytes, bytes.empty() ? 1 : bytes.size(), limits);
  const Decoded pieces = decode(bytes, piece, limits);
  NSELF_FUZZ_CHECK(whole.violation.has_value() == pieces.violation.has_value());
  if (whole.violation) {
    NSELF_FUZZ_CHECK(whole.violation->close_code == pieces.violation->close_code);
    NSELF_FUZZ_CHECK(ws::is_sendable_close_code(whole.violation->close_code));
  }
  NSELF_FUZZ_CHECK(whole.events.size() == pieces.events.size());
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    const ws::Event& event = whole.events[i];
    NSELF_FUZZ_CHECK(same(event, pieces.events[i]));
    if (event.kind == ws::Event::Kind::kText || event.kind == ws::Event::Kind::kClose) {
      NSELF_FUZZ_CHECK(ws::is_valid_utf8(event.payload));
    }
    if (event.kind == ws::Event::Kind::kText || event.kind == ws::Event::Kind::kBinary) {
      NSELF_FUZZ_CHECK(event.payload.size() <= limits.max_message_bytes);
    } else {
      NSELF_FUZZ_CHECK(event.payload.size() <= 125);
    }
  }

  // Incremental UTF-8 in pieces agrees with the whole-buffer check.
  std::uint32_t state = ws::detail::kUtf8Boundary;
  bool valid = true;
  for (std::size_t at = 0; at < bytes.size() && valid; at += piece) {
    const std::string_view part = bytes.substr(at, piece);
    valid = ws::detail::utf8_advance(state, reinterpret_cast<const std::uint8_t*>(part.data()),
                                     part.size());
  }
  valid = valid && state == ws::detail::kUtf8Boundary;
  NSELF_FUZZ_CHECK(valid == ws::is_valid_utf8(bytes));

  // Encoding round trip: the input as one masked binary (or, when valid
  // UTF-8, text) message decodes back to itself.
  if (bytes.size() <= 64 * 1024) {
    const bool text = valid;
    std::string frame;
    ws::append_masked_frame(frame, text ? ws::Opcode::kText : ws::Opcode::kBinary, bytes,
                            {data[0], 0x5a, 0xa5, 0x3c});
    const Decoded back = decode(frame, piece, ws::DecoderLimits{});
    NSELF_FUZZ_CHECK(!back.violation);
    NSELF_FUZZ_CHECK(back.events.size() == 1);
    NSELF_FUZZ_CHECK(back.events.front().payload == bytes);
  }
  // Closing with any (valid UTF-8) reason yields a well-formed, decodable close frame.
  if (!valid) return 0;
  const std::string close = ws::encode_close(ws::close_code::kPolicyViolation, bytes);
  ws::DecoderLimits client;
  client.expect_masked = false;
  const Decoded closed = decode(close, piece, client);
  NSELF_FUZZ_CHECK(!closed.violation);
  NSELF_FUZZ_CHECK(closed.events.size() == 1 &&
                   closed.events.front().kind == ws::Event::Kind::kClose);

  // Handshake helpers on arbitrary keys.
  if (ws::is_valid_client_key(bytes)) NSELF_FUZZ_CHECK(ws::compute_accept_key(bytes).size() == 28);
  return 0;
}
