#pragma once

// Client -> server frames of the JSON protocol (docs/PROTOCOL.md), parsed and
// validated into typed requests. Pure functions, thread-safe.
//
// Unknown fields are ignored (forward compatibility: a newer client may send
// fields an older server does not know). A field whose value is null is
// treated as absent, except where noted.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace nself::core::protocol {

// Limits (documented in docs/PROTOCOL.md, "Limits").
inline constexpr std::int64_t kMaxHistory = 1000;  // subscribe.history, history.limit
inline constexpr std::int64_t kDefaultHistoryLimit = 50;
inline constexpr std::size_t kMaxMetaBytes = 4096;     // presence.meta, serialized
inline constexpr std::size_t kMaxRefBytes = 128;       // a string ref
inline constexpr std::size_t kMaxBatchRequests = 100;  // elements of an array frame
inline constexpr std::size_t kMaxJsonDepth = 64;       // nesting of a frame

// The request's correlation id, echoed in its reply and in its error: absent,
// a string (at most kMaxRefBytes bytes) or an integer (64-bit signed).
using Ref = std::variant<std::monostate, std::string, std::int64_t>;

inline bool has_ref(const Ref& ref) {
  return !std::holds_alternative<std::monostate>(ref);
}

struct AuthRequest {
  std::string token;   // non-empty
  bool batch = false;  // client asks for batched delivery (used later)
};

struct SubscribeRequest {
  std::string channel;                  // a slug or a UUID
  std::optional<std::int64_t> history;  // 1..kMaxHistory: replay the last N messages
  std::optional<std::int64_t> since;    // >= 0: replay messages with seq > since
};

struct UnsubscribeRequest {
  std::string channel;
};

struct MessageRequest {
  std::string channel;
  // The "content" value, re-serialized once as compact JSON; stored and
  // forwarded as is. Any JSON value except null.
  std::string content_json;
};

struct HistoryRequest {
  std::string channel;
  std::int64_t limit = kDefaultHistoryLimit;  // 1..kMaxHistory
  std::optional<std::int64_t> before;         // >= 0: the newest messages with seq < before
  std::optional<std::int64_t> after;          // >= 0: the oldest messages with seq > after
};

struct TypingRequest {
  std::string channel;
  bool typing = false;
};

enum class PresenceStatus { kOnline, kAway };
std::string_view to_string(PresenceStatus status);

struct PresenceRequest {
  PresenceStatus status = PresenceStatus::kOnline;
  std::optional<std::string> meta_json;  // a JSON object, compact, <= kMaxMetaBytes
  std::optional<std::string> channel;    // absent: every presence channel joined
};

struct ReadRequest {
  std::string channel;
  std::int64_t seq = 0;  // >= 0: everything up to seq has been read
};

struct PingRequest {};

using Request =
    std::variant<AuthRequest, SubscribeRequest, UnsubscribeRequest, MessageRequest, HistoryRequest,
                 TypingRequest, PresenceRequest, ReadRequest, PingRequest>;

// The wire name of a request's type ("auth", "subscribe", ...).
std::string_view type_name(const Request& request);

// One parsed request or the reason it was refused. `ref` is set whenever the
// frame was a JSON object carrying a valid ref, including when the request is
// refused, so that the error can be correlated.
// Error codes: "bad_request" (anything malformed) and "payload_too_large"
// (presence meta over kMaxMetaBytes).
struct ParseOutcome {
  Ref ref;
  Result<Request> request;
};

// Parses a frame that must hold exactly one request object.
ParseOutcome parse_request(std::string_view frame);

// A frame is one request object, or an array of 1..kMaxBatchRequests request
// objects parsed independently (one outcome each, in order). Malformed JSON,
// any other top-level value, or an empty or oversized array give one
// bad_request outcome with `batch` false.
struct ParsedFrame {
  bool batch = false;
  std::vector<ParseOutcome> outcomes;  // never empty
};
ParsedFrame parse_frame(std::string_view frame);

}  // namespace nself::core::protocol
