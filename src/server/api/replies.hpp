#pragma once

// What every admin API handler shares: the JSON and error responses, the
// request body as a JSON object and its typed fields, and the clock. Private
// to server/api/.

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/result.hpp"
#include "server/http_router.hpp"
#include "store/store.hpp"

namespace nself::server::api {

store::Timestamp now_ms();

HttpResponse json_reply(http::status status, const boost::json::value& body);
HttpResponse error_reply(http::status status, std::string_view code, std::string_view message);
HttpResponse unavailable_reply();
// The store queue was full (REALTIME_STORE_QUEUE_MAX): nothing was queued.
HttpResponse overloaded_reply(const Error& error);

// The request body as a JSON object; when it is not one, `respond` gets the
// 400 and the result is empty.
std::optional<boost::json::object> body_or_reply(const HttpRequest& request,
                                                 const Responder& respond);

// Optional typed fields of a body; an error message when present with another type.
template <class T>
std::optional<std::string> read_field(const boost::json::object& body, std::string_view key,
                                      std::optional<T>& out) {
  const boost::json::value* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!value->is_string()) return "\"" + std::string(key) + "\" must be a string";
    out = std::string(value->as_string());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!value->is_bool()) return "\"" + std::string(key) + "\" must be a boolean";
    out = value->as_bool();
  } else {
    if (!value->is_int64()) return "\"" + std::string(key) + "\" must be an integer";
    out = value->as_int64();
  }
  return std::nullopt;
}

// The whole of `text` as a decimal integer, or nothing.
std::optional<std::int64_t> parse_integer(std::string_view text);

}  // namespace nself::server::api
