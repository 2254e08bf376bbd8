#include "core/protocol/requests.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/channel.hpp"
#include "core/protocol/raw_json.hpp"

namespace nself::core::protocol {
namespace {

namespace json = boost::json;

Error bad_request(std::string message) {
  return Error{"bad_request", std::move(message)};
}

std::string quoted(std::string_view name) {
  // Built with append: GCC 12's -Wrestrict misfires on `"\"" + std::string(...)` at -O3.
  std::string text;
  text.reserve(name.size() + 2);
  text.push_back('"');
  text.append(name);
  text.push_back('"');
  return text;
}

// Content with U+0000 is refused on every backend, as PostgreSQL's jsonb cannot store it.
Error nul_refused(std::string_view name) {
  return bad_request(quoted(name) + " must not contain the character U+0000 (\\u0000)");
}

std::string_view view(const json::string& text) {
  return {text.data(), text.size()};
}

// The member `name`, or nullptr when absent or null.
const json::value* field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(json::string_view(name.data(), name.size()));
  return value == nullptr || value->is_null() ? nullptr : value;
}

Result<std::string> required_string(const json::object& object, std::string_view name) {
  const json::value* value = field(object, name);
  if (value == nullptr) return bad_request("missing field " + quoted(name));
  if (!value->is_string()) return bad_request(quoted(name) + " must be a string");
  return std::string(view(value->get_string()));
}

Result<std::string> channel_name(const json::value& value, std::string_view name) {
  if (!value.is_string()) return bad_request(quoted(name) + " must be a string");
  const std::string_view text = view(value.get_string());
  if (!core::is_valid_slug(text) && !core::looks_like_uuid(text)) {
    return bad_request(quoted(name) +
                       " must be a channel slug (1-64 characters of a-z, 0-9 and -) or a UUID");
  }
  return std::string(text);
}

Result<std::string> required_channel(const json::object& object) {
  const json::value* value = field(object, "channel");
  if (value == nullptr) return bad_request("missing field \"channel\"");
  return channel_name(*value, "channel");
}

Result<std::optional<std::string>> optional_channel(const json::object& object) {
  const json::value* value = field(object, "channel");
  if (value == nullptr) return std::optional<std::string>();
  auto channel = channel_name(*value, "channel");
  if (!channel.ok()) return channel.error();
  return std::optional<std::string>(std::move(channel).value());
}

// An integer in [min, max]; doubles (1.0, 1e3) are not integers here.
Result<std::optional<std::int64_t>> optional_integer(const json::object& object,
                                                     std::string_view name, std::int64_t min,
                                                     std::optional<std::int64_t> max) {
  const json::value* value = field(object, name);
  if (value == nullptr) return std::optional<std::int64_t>();
  const std::string range = max ? " from " + std::to_string(min) + " to " + std::to_string(*max)
                                : " >= " + std::to_string(min);
  if (!value->is_int64() && !value->is_uint64()) {
    return bad_request(quoted(name) + " must be an integer" + range);
  }
  // A uint64 only appears above INT64_MAX, which no range here includes.
  if (value->is_uint64() || value->get_int64() < min || (max && value->get_int64() > *max)) {
    return bad_request(quoted(name) + " must be an integer" + range);
  }
  return std::optional<std::int64_t>(value->get_int64());
}

Result<std::int64_t> required_integer(const json::object& object, std::string_view name,
                                      std::int64_t min) {
  if (field(object, name) == nullptr) return bad_request("missing field " + quoted(name));
  auto number = optional_integer(object, name, min, std::nullopt);
  if (!number.ok()) return number.error();
  return **number;
}

Result<std::optional<bool>> optional_bool(const json::object& object, std::string_view name) {
  const json::value* value = field(object, name);
  if (value == nullptr) return std::optional<bool>();
  if (!value->is_bool()) return bad_request(quoted(name) + " must be a boolean");
  return std::optional<bool>(value->get_bool());
}

// Shorthand for early returns of an Error out of a Result<X> into Result<Request>.
#define NSELF_TRY(var, expr)                           \
  auto var##_result = (expr);                          \
  if (!var##_result.ok()) return var##_result.error(); \
  auto var = std::move(var##_result).value()

Result<Request> parse_auth(const json::object& object) {
  NSELF_TRY(token, required_string(object, "token"));
  if (token.empty()) return bad_request("\"token\" must not be empty");
  NSELF_TRY(batch, optional_bool(object, "batch"));
  return Request{AuthRequest{std::move(token), batch.value_or(false)}};
}

Result<Request> parse_subscribe(const json::object& object) {
  NSELF_TRY(channel, required_channel(object));
  NSELF_TRY(history, optional_integer(object, "history", 1, kMaxHistory));
  NSELF_TRY(since, optional_integer(object, "since", 0, std::nullopt));
  if (history && since) return bad_request("\"history\" and \"since\" cannot be used together");
  return Request{SubscribeRequest{std::move(channel), history, since}};
}

Result<Request> parse_unsubscribe(const json::object& object) {
  NSELF_TRY(channel, required_channel(object));
  return Request{UnsubscribeRequest{std::move(channel)}};
}

Result<Request> parse_message(const json::object& object, std::string_view object_text) {
  NSELF_TRY(channel, required_channel(object));
  if (field(object, "content") == nullptr) return bad_request("missing field \"content\"");
  const std::optional<std::string_view> raw = detail::raw_member(object_text, "content");
  assert(raw.has_value());  // the parser saw it, so the text holds it
  if (detail::contains_nul_escape(*raw)) return nul_refused("content");
  return Request{MessageRequest{std::move(channel), std::string(*raw)}};
}

Result<Request> parse_history(const json::object& object) {
  NSELF_TRY(channel, required_channel(object));
  NSELF_TRY(limit, optional_integer(object, "limit", 1, kMaxHistory));
  NSELF_TRY(before, optional_integer(object, "before", 0, std::nullopt));
  NSELF_TRY(after, optional_integer(object, "after", 0, std::nullopt));
  if (before && after) return bad_request("\"before\" and \"after\" cannot be used together");
  return Request{
      HistoryRequest{std::move(channel), limit.value_or(kDefaultHistoryLimit), before, after}};
}

Result<Request> parse_typing(const json::object& object) {
  NSELF_TRY(channel, required_channel(object));
  NSELF_TRY(typing, optional_bool(object, "typing"));
  if (!typing) return bad_request("missing field \"typing\"");
  return Request{TypingRequest{std::move(channel), *typing}};
}

Result<Request> parse_presence(const json::object& object, std::string_view object_text) {
  NSELF_TRY(status_text, required_string(object, "status"));
  PresenceRequest request;
  if (status_text == "online") {
    request.status = PresenceStatus::kOnline;
  } else if (status_text == "away") {
    request.status = PresenceStatus::kAway;
  } else {
    return bad_request("\"status\" must be \"online\" or \"away\"");
  }
  if (const json::value* meta = field(object, "meta")) {
    if (!meta->is_object()) return bad_request("\"meta\" must be an object");
    const std::optional<std::string_view> raw = detail::raw_member(object_text, "meta");
    assert(raw.has_value());
    if (raw->size() > kMaxMetaBytes) {
      return Error{"payload_too_large",
                   "\"meta\" must be at most " + std::to_string(kMaxMetaBytes) + " bytes"};
    }
    if (detail::contains_nul_escape(*raw)) return nul_refused("meta");
    request.meta_json = std::string(*raw);
  }
  NSELF_TRY(channel, optional_channel(object));
  request.channel = std::move(channel);
  return Request{std::move(request)};
}

Result<Request> parse_read(const json::object& object) {
  NSELF_TRY(channel, required_channel(object));
  NSELF_TRY(seq, required_integer(object, "seq", 0));
  return Request{ReadRequest{std::move(channel), seq}};
}

#undef NSELF_TRY

// Parses a ref; nullopt (with `error` set) when it is present but invalid.
std::optional<Ref> parse_ref(const json::object& object, Error& error) {
  const json::value* value = field(object, "ref");
  if (value == nullptr) return Ref{};
  if (value->is_string() && value->get_string().size() <= kMaxRefBytes) {
    return Ref{std::string(view(value->get_string()))};
  }
  if (value->is_int64()) return Ref{value->get_int64()};
  error = bad_request("\"ref\" must be an integer or a string of at most " +
                      std::to_string(kMaxRefBytes) + " bytes");
  return std::nullopt;
}

// One request object; `object_text` is its exact source text.
ParseOutcome parse_object(const json::value& value, std::string_view object_text) {
  const json::object* object = value.if_object();
  if (object == nullptr) return {Ref{}, bad_request("a request must be a JSON object")};
  Error ref_error;
  std::optional<Ref> ref = parse_ref(*object, ref_error);
  if (!ref) return {Ref{}, std::move(ref_error)};

  const json::value* type = field(*object, "type");
  if (type == nullptr) return {std::move(*ref), bad_request("missing field \"type\"")};
  if (!type->is_string()) return {std::move(*ref), bad_request("\"type\" must be a string")};
  const std::string_view name = view(type->get_string());

  Result<Request> request = [&]() -> Result<Request> {
    if (name == "auth") return parse_auth(*object);
    if (name == "subscribe") return parse_subscribe(*object);
    if (name == "unsubscribe") return parse_unsubscribe(*object);
    if (name == "message") return parse_message(*object, object_text);
    if (name == "history") return parse_history(*object);
    if (name == "typing") return parse_typing(*object);
    if (name == "presence") return parse_presence(*object, object_text);
    if (name == "read") return parse_read(*object);
    if (name == "ping") return Request{PingRequest{}};
    // Bounded: the type is echoed but not without limit.
    return bad_request("unknown type \"" + std::string(name.substr(0, 32)) + "\"");
  }();
  return {std::move(*ref), std::move(request)};
}

// Parses the whole frame with Boost.JSON (depth-limited, strict UTF-8).
Result<json::value> parse_json(std::string_view frame) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value value = json::parse(json::string_view(frame.data(), frame.size()), ec, {}, options);
  if (ec == json::error::too_deep) {
    return bad_request("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  if (ec) return bad_request("malformed JSON: " + ec.message());
  return value;
}

}  // namespace

std::string_view to_string(PresenceStatus status) {
  return status == PresenceStatus::kAway ? "away" : "online";
}

std::string_view type_name(const Request& request) {
  struct Visitor {
    std::string_view operator()(const AuthRequest&) const { return "auth"; }
    std::string_view operator()(const SubscribeRequest&) const { return "subscribe"; }
    std::string_view operator()(const UnsubscribeRequest&) const { return "unsubscribe"; }
    std::string_view operator()(const MessageRequest&) const { return "message"; }
    std::string_view operator()(const HistoryRequest&) const { return "history"; }
    std::string_view operator()(const TypingRequest&) const { return "typing"; }
    std::string_view operator()(const PresenceRequest&) const { return "presence"; }
    std::string_view operator()(const ReadRequest&) const { return "read"; }
    std::string_view operator()(const PingRequest&) const { return "ping"; }
  };
  return std::visit(Visitor{}, request);
}

ParseOutcome parse_request(std::string_view frame) {
  Result<json::value> value = parse_json(frame);
  if (!value.ok()) return {Ref{}, value.error()};
  return parse_object(*value, frame);
}

ParsedFrame parse_frame(std::string_view frame) {
  Result<json::value> value = parse_json(frame);
  ParsedFrame parsed;
  if (!value.ok()) {
    parsed.outcomes.push_back({Ref{}, value.error()});
    return parsed;
  }
  const json::array* array = value->if_array();
  if (array == nullptr) {
    parsed.outcomes.push_back(parse_object(*value, frame));
    return parsed;
  }
  if (array->empty() || array->size() > kMaxBatchRequests) {
    parsed.outcomes.push_back(
        {Ref{},
         bad_request("a batch must hold 1 to " + std::to_string(kMaxBatchRequests) + " requests")});
    return parsed;
  }
  const std::vector<std::string_view> texts = detail::raw_elements(frame);
  assert(texts.size() == array->size());
  parsed.batch = true;
  parsed.outcomes.reserve(array->size());
  for (std::size_t index = 0; index < array->size(); ++index) {
    parsed.outcomes.push_back(parse_object((*array)[index], texts[index]));
  }
  return parsed;
}

}  // namespace nself::core::protocol
