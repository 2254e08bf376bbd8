// The shared responses and body readers of the admin API (replies.hpp).

#include "server/api/replies.hpp"

#include <charconv>
#include <chrono>

namespace nself::server::api {

namespace json = boost::json;

store::Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

HttpResponse json_reply(http::status status, const json::value& body) {
  return json_response(status, json::serialize(body));
}

HttpResponse error_reply(http::status status, std::string_view code, std::string_view message) {
  return error_response(status, code, message);
}

HttpResponse unavailable_reply() {
  return error_reply(http::status::service_unavailable, "unavailable",
                     "the database is unavailable; retry later");
}

HttpResponse overloaded_reply(const Error& error) {
  auto response = error_reply(http::status::service_unavailable, "overloaded", error.message);
  response.set(http::field::retry_after, "1");
  return response;
}

std::optional<json::object> body_or_reply(const HttpRequest& request, const Responder& respond) {
  json::error_code error;
  auto value = json::parse(request.body(), error);
  if (error || !value.is_object()) {
    respond(
        error_reply(http::status::bad_request, "bad_request", "the body must be a JSON object"));
    return std::nullopt;
  }
  return std::move(value.as_object());
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace nself::server::api
