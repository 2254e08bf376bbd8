#pragma once

// RFC 6455 framing, byte-in/byte-out, with no sockets. The server owns its
// framing (see docs/ARCHITECTURE.md) so that it can queue pre-framed bytes and
// send everything queued for a connection in one writev, and frame a fan-out
// event once for all subscribers.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nself::core::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes used by the server (RFC 6455 section 7.4 and our 4xxx range).
namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;  // server shutdown
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kUnsupportedData = 1003;
inline constexpr std::uint16_t kNoStatus = 1005;        // never sent on the wire
inline constexpr std::uint16_t kAbnormal = 1006;        // never sent on the wire
inline constexpr std::uint16_t kInvalidPayload = 1007;  // e.g. invalid UTF-8
inline constexpr std::uint16_t kPolicyViolation = 1008;
inline constexpr std::uint16_t kMessageTooBig = 1009;
inline constexpr std::uint16_t kInternalError = 1011;
inline constexpr std::uint16_t kAuthFailed = 4001;     // no, bad or expired token
inline constexpr std::uint16_t kLimitExceeded = 4008;  // rate and connection limits
}  // namespace close_code

// What the decoder hands out: one complete (reassembled) data message, or one
// control frame. Control frames may arrive between the fragments of a message.
struct Event {
  enum class Kind { kText, kBinary, kPing, kPong, kClose };
  Kind kind = Kind::kText;
  std::string payload;  // message / ping / pong payload; for kClose the reason text
  // For kClose: the code the peer sent (close_code::kNoStatus when the frame had none).
  std::uint16_t close_code = close_code::kNoStatus;
};

// Why the connection must be failed: the close code to send and a short reason.
struct Violation {
  std::uint16_t close_code = close_code::kProtocolError;
  std::string reason;
};

struct DecoderLimits {
  // Largest reassembled message (and so frame) accepted; more closes with 1009.
  std::size_t max_message_bytes = 64 * 1024;
  // Client-to-server frames must be masked (RFC 6455 5.1); a client decoding
  // server frames sets this to false and then requires them unmasked.
  bool expect_masked = true;
};

// Incremental decoder for one connection's incoming byte stream.
//
// Checks: reserved bits (no extension is negotiated), unknown opcodes, masking,
// control frames (<= 125 bytes, not fragmented), continuation without a message
// and a new message during one, minimal-length encodings are not required
// (RFC allows any), 64-bit lengths with the high bit set, message size limit,
// UTF-8 of text messages (failing as soon as an invalid sequence is seen, also
// inside a fragment) and of close reasons, close payloads of length 1, and
// close codes that may not be sent (RFC 6455 7.4.1/7.4.2).
//
// After a violation the decoder stays failed and ignores further input.
class FrameDecoder {
 public:
  explicit FrameDecoder(DecoderLimits limits = {});

  // Consumes `bytes` (any split is fine: one byte at a time or many frames at
  // once), appending every completed event to `out`. Returns the violation
  // that ends the connection, if any; events before it are still appended.
  std::optional<Violation> feed(std::string_view bytes, std::vector<Event>& out);

  // True while a frame or fragmented message is partly received.
  bool mid_message() const;
  // Bytes buffered for a partial frame or message (for memory accounting).
  std::size_t buffered_bytes() const;
  // Releases buffers when idle (no partial frame), so idle connections are cheap.
  void shrink_to_fit();

 private:
  struct State;
  DecoderLimits limits_;
  std::string header_;   // partial frame header bytes
  std::string message_;  // data message being reassembled
  std::string control_;  // control frame payload being received
  std::uint64_t frame_remaining_ = 0;
  std::array<std::uint8_t, 4> mask_{};
  std::size_t mask_offset_ = 0;
  bool in_frame_ = false;
  bool frame_fin_ = false;
  bool frame_masked_ = false;
  Opcode frame_opcode_ = Opcode::kContinuation;
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::kText;
  std::uint32_t utf8_state_ = 0;  // incremental UTF-8 validator state
  bool failed_ = false;
};

// ---- encoding

// Appends one unmasked frame (server to client).
void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true);
// One unmasked frame as a new string.
std::string encode_frame(Opcode opcode, std::string_view payload, bool fin = true);
// A close frame with a code and a reason (truncated to fit 125 bytes at a UTF-8 boundary).
std::string encode_close(std::uint16_t code, std::string_view reason);
// Appends one masked frame (client to server): clients, tests and the load generator.
void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask, bool fin = true);

// ---- UTF-8

// Validates a whole buffer (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

// ---- opening handshake (RFC 6455 4.2)

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string compute_accept_key(std::string_view sec_websocket_key);
// A client key is the base64 encoding of 16 bytes (24 characters ending in "==").
bool is_valid_client_key(std::string_view sec_websocket_key);

}  // namespace nself::core::ws
