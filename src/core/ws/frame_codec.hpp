#pragma once

// RFC 6455 framing, byte-in/byte-out, with no sockets. The server owns its
// framing (see docs/ARCHITECTURE.md) so that it can queue pre-framed bytes and
// send everything queued for a connection in one writev, and frame a fan-out
// event once for all subscribers.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
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
// Every check that the frame header can decide is made as soon as the header
// bytes that decide it have arrived: a frame or message that would exceed
// max_message_bytes fails with 1009 before any of its payload is buffered.
// docs/WEBSOCKET.md lists every violation with its close code.
//
// After a violation the decoder stays failed and ignores further input; feed()
// then returns the same violation again. After a close frame has been decoded
// (an Event of kind kClose) the peer may send nothing more (RFC 6455 5.5.1), so
// the remaining input is ignored and feed() returns no further events.
//
// Not thread-safe: one decoder belongs to one connection.
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
  // True once a close frame has been decoded (further input is ignored).
  bool closed() const { return closed_; }

 private:
  // Largest frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask.
  static constexpr std::size_t kMaxHeaderBytes = 14;

  std::optional<Violation> fail(std::uint16_t code, std::string reason);
  // Checks what the first two header bytes decide (opcode, RSV, mask bit,
  // control frame rules, fragmentation order).
  std::optional<Violation> check_first_bytes(std::uint8_t b0, std::uint8_t b1);
  // Checks the payload length once the header's length bytes are in (the
  // 64-bit top bit, the message size limit).
  std::optional<Violation> check_length(const std::uint8_t* header);
  // Starts a frame from its complete, checked header.
  void start_frame(const std::uint8_t* header);
  // Unmasks `size` payload bytes into the current frame's destination.
  std::optional<Violation> consume_payload(const std::uint8_t* data, std::size_t size);
  // Completes the current frame, appending an event when one is complete.
  std::optional<Violation> finish_frame(std::vector<Event>& out);
  std::optional<Violation> finish_close(std::vector<Event>& out);

  DecoderLimits limits_;
  std::array<std::uint8_t, kMaxHeaderBytes> header_{};  // partial frame header
  std::size_t header_size_ = 0;                         // bytes in header_
  std::string message_;                                 // data message being reassembled
  std::string control_;                                 // control frame payload being received
  std::uint64_t frame_remaining_ = 0;                   // payload bytes still to come
  std::array<std::uint8_t, 4> mask_{};
  std::size_t mask_offset_ = 0;  // index into mask_ of the next payload byte
  bool in_frame_ = false;        // header complete, payload incomplete
  bool frame_fin_ = false;
  Opcode frame_opcode_ = Opcode::kContinuation;
  bool in_message_ = false;  // a data message has started and not finished
  Opcode message_opcode_ = Opcode::kText;
  std::uint32_t utf8_state_ = 0;  // incremental UTF-8 validator state (0: at a boundary)
  bool closed_ = false;
  // Set once; the decoder is then failed. A pointer: most decoders never fail,
  // and an idle connection should not carry the space.
  std::unique_ptr<Violation> violation_;
};

// ---- encoding

// Appends one unmasked frame (server to client).
void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true);
// Appends only the header of an unmasked frame whose payload, `payload_length`
// bytes, the caller sends right after it (scatter-gather writes).
void append_frame_header(std::string& out, Opcode opcode, std::size_t payload_length,
                         bool fin = true);
// The header length (2, 4 or 10) of a complete unmasked frame, e.g. one made
// by encode_frame: its payload starts there.
std::size_t unmasked_header_size(std::string_view frame);
// One unmasked frame as a new string.
std::string encode_frame(Opcode opcode, std::string_view payload, bool fin = true);
// A close frame with a code and a reason (truncated to fit 125 bytes at a UTF-8 boundary).
// close_code::kNoStatus gives a close frame with an empty payload (and no reason),
// since 1005 itself may never be sent.
std::string encode_close(std::uint16_t code, std::string_view reason);
// Appends one masked frame (client to server): clients, tests and the load generator.
void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask, bool fin = true);

// ---- close codes

// True for the codes an endpoint may put in a close frame (RFC 6455 7.4.1 and
// the IANA registry): 1000-1003, 1007-1014, 3000-4999. False for 1004 (reserved),
// 1005, 1006 and 1015 (never sent), anything below 1000, 1016-2999 (reserved for
// the protocol) and 5000 and above.
bool is_sendable_close_code(std::uint16_t code);

// ---- UTF-8

// Validates a whole buffer (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

// ---- opening handshake (RFC 6455 4.2)

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string compute_accept_key(std::string_view sec_websocket_key);
// A client key is the base64 encoding of 16 bytes (24 characters ending in "==").
// Strict: the encoding must be canonical (22 base64 characters whose unused
// low bits are zero, then "=="); no surrounding whitespace.
bool is_valid_client_key(std::string_view sec_websocket_key);

}  // namespace nself::core::ws
