// libFuzzer target: the protocol parser and validator (core/protocol) on any
// frame text, and the events built from what it accepts.
//
// Properties: nothing crashes; every outcome is a request or a bad_request /
// payload_too_large error; an accepted message's content_json is valid JSON
// equal to the frame's "content" value; presence meta is a JSON object within
// kMaxMetaBytes; the events echoing a request (errors, acks, messages) are
// valid JSON.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/protocol/events.hpp"
#include "core/protocol/raw_json.hpp"
#include "core/protocol/requests.hpp"
#include "fuzz_check.hpp"

namespace {

namespace json = boost::json;
namespace protocol = nself::core::protocol;

// The parser accepts frames nested up to kMaxJsonDepth (Boost.JSON's default
// is 32): the checks parse with the same limit.
json::value parse(std::string_view text, boost::system::error_code& error) {
  json::parse_options options;
  options.max_depth = protocol::kMaxJsonDepth;
  return json::parse(text, error, {}, options);
}

// Equal JSON, with two quirks of Boost.JSON 1.81's number parser allowed
// for: it reads a number such as 0e2000 as NaN (0 times an overflowed power
// of ten), which never equals itself; and it can read the same long mantissa
// one ULP apart inside a document and alone ("22.2222222222222222222222221":
// 2.222222222222222E1 in an object, 2.2222222222222225E1 at the top level; a
// CI fuzz run found it). The server stores and forwards a content's text, so
// neither reaches a client.
bool same_json(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_object() && b.is_object()) {
    const auto& left = a.get_object();
    const auto& right = b.get_object();
    if (left.size() != right.size()) return false;
    for (auto l = left.begin(), r = right.begin(); l != left.end(); ++l, ++r) {
      if (l->key() != r->key() || !same_json(l->value(), r->value())) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    const auto& left = a.get_array();
    const auto& right = b.get_array();
    if (left.size() != right.size()) return false;
    for (std::size_t i = 0; i < left.size(); ++i) {
      if (!same_json(left[i], right[i])) return false;
    }
    return true;
  }
  return json::serialize(a) == json::serialize(b);
}

json::value parse(std::string_view text) {
  boost::system::error_code error;
  json::value value = parse(text, error);
  NSELF_FUZZ_CHECK(!error);
  return value;
}

bool is_json(std::string_view text) {
  boost::system::error_code error;
  parse(text, error);
  return !error;
}

// The "content" member of the frame's object (or of the batch element) when
// the frame holds exactly one such object.
const json::value* content_of(const json::value& frame) {
  if (!frame.is_object()) return nullptr;
  return frame.as_object().if_contains("content");
}

void check_outcome(const protocol::ParseOutcome& outcome, const json::value* frame) {
  const protocol::Timestamp at{std::chrono::milliseconds(1'700'000'000'000)};
  if (!outcome.request) {
    const auto& code = outcome.request.error().code;
    NSELF_FUZZ_CHECK(code == "bad_request" || code == "payload_too_large");
    NSELF_FUZZ_CHECK(is_json(protocol::error_event(outcome.ref, outcome.request.error())));
    return;
  }
  const auto& request = *outcome.request;
  NSELF_FUZZ_CHECK(!protocol::type_name(request).empty());
  if (const auto* message = std::get_if<protocol::MessageRequest>(&request)) {
    NSELF_FUZZ_CHECK(is_json(message->content_json));
    if (frame != nullptr) {
      const json::value* content = content_of(*frame);
      NSELF_FUZZ_CHECK(content != nullptr);
      NSELF_FUZZ_CHECK(same_json(parse(message->content_json), *content));
    }
    protocol::MessageView view{message->channel, "id", 1, "user", message->content_json, at};
    NSELF_FUZZ_CHECK(is_json(protocol::message_event(view)));
    NSELF_FUZZ_CHECK(is_json(protocol::ack_event(outcome.ref, "id", message->channel, 1)));
  } else if (const auto* presence = std::get_if<protocol::PresenceRequest>(&request)) {
    if (presence->meta_json) {
      NSELF_FUZZ_CHECK(presence->meta_json->size() <= protocol::kMaxMetaBytes);
      NSELF_FUZZ_CHECK(parse(*presence->meta_json).is_object());
    }
  } else if (const auto* history = std::get_if<protocol::HistoryRequest>(&request)) {
    NSELF_FUZZ_CHECK(history->limit >= 1 && history->limit <= protocol::kMaxHistory);
  } else if (const auto* auth = std::get_if<protocol::AuthRequest>(&request)) {
    NSELF_FUZZ_CHECK(!auth->token.empty());
  }
  if (const auto* text = std::get_if<std::string>(&outcome.ref)) {
    NSELF_FUZZ_CHECK(text->size() <= protocol::kMaxRefBytes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const protocol::ParsedFrame parsed = protocol::parse_frame(frame);
  NSELF_FUZZ_CHECK(!parsed.outcomes.empty());

  boost::system::error_code error;
  const json::value whole = parse(frame, error);
  if (!parsed.batch) {
    NSELF_FUZZ_CHECK(parsed.outcomes.size() == 1);
    check_outcome(parsed.outcomes.front(), error ? nullptr : &whole);
  } else {
    NSELF_FUZZ_CHECK(!error && whole.is_array());
    const auto& elements = whole.as_array();
    NSELF_FUZZ_CHECK(elements.size() == parsed.outcomes.size());
    NSELF_FUZZ_CHECK(parsed.outcomes.size() <= protocol::kMaxBatchRequests);
    for (std::size_t i = 0; i < elements.size(); ++i) {
      check_outcome(parsed.outcomes[i], &elements[i]);
    }
  }

  // The raw-text helpers on text a JSON parser accepted (their contract):
  // every member found is itself valid JSON.
  if (!error && whole.is_object()) {
    for (const auto& member : whole.as_object()) {
      const auto raw = protocol::detail::raw_member(frame, member.key());
      NSELF_FUZZ_CHECK(raw.has_value());
      NSELF_FUZZ_CHECK(same_json(parse(*raw), member.value()));
    }
  } else if (!error && whole.is_array()) {
    const auto elements = protocol::detail::raw_elements(frame);
    NSELF_FUZZ_CHECK(elements.size() == whole.as_array().size());
    for (std::size_t i = 0; i < elements.size(); ++i) {
      NSELF_FUZZ_CHECK(same_json(parse(elements[i]), whole.as_array()[i]));
    }
  }
  // The single-request entry point agrees with the frame parser on objects.
  if (!parsed.batch) {
    const protocol::ParseOutcome single = protocol::parse_request(frame);
    NSELF_FUZZ_CHECK(single.request.ok() == parsed.outcomes.front().request.ok());
  }
  return 0;
}
