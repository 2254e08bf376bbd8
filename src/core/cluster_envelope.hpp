#pragma once

// The message nodes exchange over Redis pub/sub (src/cluster/cluster_bus.hpp,
// docs/SCALING.md). Pure codec, tested with literals.
//
// Wire format (text, one header line per field, the payload last and verbatim):
//   nself1\n<kind>\n<node id>\n<channel id>\n<seq>\n<payload bytes...>
// The payload is the event exactly as the publishing node serialized it
// (pre-serialized JSON), so a receiving node frames it without re-encoding.
// A header is parsed without copying the payload twice; newlines in the
// payload are fine since it is the rest of the message.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nself::core {

struct ClusterEnvelope {
  // What the payload is, e.g. "message", "presence", "typing", "broadcast".
  // 1-64 bytes, printable ASCII without spaces.
  std::string kind;
  // The publishing node (1-128 bytes, printable ASCII without spaces).
  std::string node_id;
  // The channel the event belongs to; empty for node-wide events (system
  // announcements). At most 128 bytes, printable ASCII without spaces.
  std::string channel_id;
  // The channel's seq of the event, 0 for events outside the sequence
  // (presence, typing). Never negative.
  std::int64_t seq = 0;
  std::string payload;
};

inline constexpr std::size_t kMaxEnvelopeKindBytes = 64;
inline constexpr std::size_t kMaxEnvelopeIdBytes = 128;

// Fails with code "invalid_envelope" when a header field breaks the rules above.
Result<std::string> encode_envelope(const ClusterEnvelope& envelope);
// Fails with code "invalid_envelope" on anything else than what
// encode_envelope produces (wrong magic, missing fields, bad seq, ...).
Result<ClusterEnvelope> decode_envelope(std::string_view bytes);

}  // namespace nself::core
