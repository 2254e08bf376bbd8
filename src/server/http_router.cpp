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

// Percent-decodes `text`; with `plus_is_space` (query strings, form encoding)
// '+' is a space, else (path segments, RFC 3986) it is itself.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
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
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object body;
  body["error"] = std::move(error);
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
    return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1),
                          /*plus_is_space=*/true);
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
  routes_.push_back(Route{method, std::move(path), std::move(handler), nullptr});
}

HttpRouter::Handler HttpRouter::handler(http::verb method, std::string_view path) const {
  for (const auto& route : routes_) {
    if (route.method == method && route.path == path) return route.handler;
  }
  return nullptr;
}

void HttpRouter::add_websocket_endpoint(std::string path) {
  websocket_paths_.insert(std::move(path));
}

bool HttpRouter::is_websocket_endpoint(std::string_view path) const {
  return websocket_paths_.contains(std::string(path));
}

namespace {

// Matches `path` against a pattern of literal and {name} segments.
bool match_pattern(std::string_view pattern, std::string_view path, PathParams& params) {
  while (true) {
    if (pattern.empty() || path.empty()) return pattern.empty() && path.empty();
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto pattern_end = pattern.find('/');
    auto path_end = path.find('/');
    std::string_view want = pattern.substr(0, pattern_end);
    std::string_view have = path.substr(0, path_end);
    if (want.size() >= 2 && want.front() == '{' && want.back() == '}') {
      if (have.empty()) return false;
      // RFC 3986: '+' in a path is a '+' (a user id "eve+x@example.com").
      auto decoded = percent_decode(have, /*plus_is_space=*/false);
      if (!decoded) return false;
      params.set(std::string(want.substr(1, want.size() - 2)), std::move(*decoded));
    } else if (want != have) {
      return false;
    }
    pattern =
        pattern_end == std::string_view::npos ? std::string_view{} : pattern.substr(pattern_end);
    path = path_end == std::string_view::npos ? std::string_view{} : path.substr(path_end);
  }
}

bool method_matches(http::verb route, http::verb request) {
  return route == request || (request == http::verb::head && route == http::verb::get);
}

}  // namespace

void PathParams::set(std::string name, std::string value) {
  values_.emplace_back(std::move(name), std::move(value));
}

const std::string& PathParams::get(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  return kEmpty;
}

bool HttpRouter::has_route(http::verb method, std::string_view path) const {
  for (const auto& route : routes_) {
    if (route.handler && route.method == method && route.path == path) return true;
  }
  return false;
}

void HttpRouter::add_async(http::verb method, std::string pattern, AsyncHandler handler) {
  for (auto& route : routes_) {
    if (route.method == method && route.path == pattern) {
      route.async_handler = std::move(handler);
      route.handler = nullptr;
      return;
    }
  }
  routes_.push_back(Route{method, std::move(pattern), nullptr, std::move(handler)});
}

void HttpRouter::handle(const HttpRequest& request, const std::string& client_address,
                        Responder respond) const {
  std::string_view path = split_target(request.target()).path;
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const bool head = request.method() == http::verb::head;
  // Every response leaves through here, once: the request's version and
  // keep-alive, no body for HEAD.
  struct Finish {
    Responder respond;
    bool done = false;
  };
  auto state = std::make_shared<Finish>(Finish{std::move(respond)});
  Responder finish = [state, version, keep_alive, head](HttpResponse response) {
    if (state->done) return;
    state->done = true;
    response.version(version);
    response.keep_alive(keep_alive);
    if (head) response.body().clear();
    state->respond(std::move(response));
  };
  std::string allow;
  const Route* found = nullptr;
  PathParams params;
  // Literal routes first, so /api/channels/x never shadows a literal path.
  for (int pass = 0; pass < 2 && found == nullptr; ++pass) {
    for (const auto& route : routes_) {
      const bool literal = static_cast<bool>(route.handler);
      if ((pass == 0) != literal) continue;
      PathParams candidate;
      if (literal ? route.path != path : !match_pattern(route.path, path, candidate)) continue;
      if (method_matches(route.method, request.method())) {
        found = &route;
        params = std::move(candidate);
        break;
      }
      if (!allow.empty()) allow += ", ";
      allow += std::string(http::to_string(route.method));
    }
  }
  if (found != nullptr) {
    params.set_client_address(client_address);
    try {
      if (found->handler) {
        finish(found->handler(request));
      } else {
        found->async_handler(request, params, finish);
      }
    } catch (const std::exception& error) {
      // Ignored when the handler responded before throwing.
      finish(error_response(http::status::internal_server_error, "internal_error", error.what(),
                            &request));
    }
    return;
  }
  if (!allow.empty()) {
    HttpResponse response = error_response(
        http::status::method_not_allowed, "method_not_allowed",
        "this path does not accept " + std::string(request.method_string()), &request);
    response.set(http::field::allow, allow);
    finish(std::move(response));
    return;
  }
  finish(error_response(http::status::not_found, "not_found",
                        "no such endpoint: " + std::string(path), &request));
}

HttpResponse HttpRouter::handle(const HttpRequest& request) const {
  std::optional<HttpResponse> result;
  handle(request, [&result](HttpResponse response) { result = std::move(response); });
  if (!result) {
    return error_response(http::status::internal_server_error, "internal_error",
                          "asynchronous route called synchronously", &request);
  }
  return std::move(*result);
}

}  // namespace nself::server
