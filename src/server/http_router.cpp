#include "server/http_router.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <exception>

namespace nself::server {

namespace {

void apply_request(HttpResponse& response, const HttpRequest* request) {
  if (request != nullptr) {
    response.version(request->version());
    response.keep_alive(request->keep_alive());
  } else {
    response.version(11);
    response.keep_alive(false);
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

HttpResponse json_response(http::status status, std::string body, const HttpRequest* request) {
  HttpResponse response{status, 11};
  apply_request(response, request);
  response.set(http::field::server, "nself-realtime/" NSELF_VERSION);
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

HttpResponse error_response(http::status status, std::string_view code, std::string_view message,
                            const HttpRequest* request) {
  boost::json::object body;
  body["error"] = code;
  body["message"] = message;
  return json_response(status, boost::json::serialize(body), request);
}

Target split_target(std::string_view target) {
  auto question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

void HttpRouter::add(http::verb method, std::string path, Handler handler) {
  for (auto& route : routes_) {
    if (route.method == method && route.path == path) {
      route.handler = std::move(handler);
      return;
    }
  }
  routes_.push_back(Route{method, std::move(path), std::move(handler)});
}

void HttpRouter::add_websocket_endpoint(std::string path) {
  websocket_paths_.insert(std::move(path));
}

bool HttpRouter::is_websocket_endpoint(std::string_view path) const {
  return websocket_paths_.contains(std::string(path));
}

HttpResponse HttpRouter::handle(const HttpRequest& request) const {
  std::string_view path = split_target(request.target()).path;
  std::string allow;
  for (const auto& route : routes_) {
    if (route.path != path) continue;
    if (route.method == request.method() ||
        (request.method() == http::verb::head && route.method == http::verb::get)) {
      try {
        HttpResponse response = route.handler(request);
        if (request.method() == http::verb::head) {
          response.body().clear();
        }
        return response;
      } catch (const std::exception& error) {
        return error_response(http::status::internal_server_error, "internal_error", error.what(),
                              &request);
      }
    }
    if (!allow.empty()) allow += ", ";
    allow += std::string(http::to_string(route.method));
  }
  if (!allow.empty()) {
    HttpResponse response = error_response(
        http::status::method_not_allowed, "method_not_allowed",
        "this path does not accept " + std::string(request.method_string()), &request);
    response.set(http::field::allow, allow);
    return response;
  }
  return error_response(http::status::not_found, "not_found",
                        "no such endpoint: " + std::string(path), &request);
}

}  // namespace nself::server
