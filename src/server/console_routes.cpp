#include "server/console_routes.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "core/auth/jwt_key.hpp"
#include "core/auth/jwt_verifier.hpp"
#include "core/embedded_file.hpp"
#include "core/time_format.hpp"

// Generated from web/console, clients/js and examples (src/CMakeLists.txt).
extern const nself::EmbeddedFile kConsoleFiles[];
extern const std::size_t kConsoleFiles_count;

namespace nself::server {

namespace json = boost::json;

namespace {

constexpr std::int64_t kDefaultTokenSeconds = 3600;
constexpr std::int64_t kMaxTokenSeconds = 86400;
constexpr std::size_t kMaxUserIdBytes = 255;

HttpResponse file_response(std::string_view name, std::string_view contents,
                           const HttpRequest& request) {
  HttpResponse response{http::status::ok, request.version()};
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "nself-realtime/" NSELF_VERSION);
  response.set(http::field::content_type, content_type_for(name));
  // The files change only with the binary; revalidating each load is cheap.
  response.set(http::field::cache_control, "no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::string(contents);
  response.prepare_payload();
  return response;
}

void serve(HttpRouter& router, std::string path, const EmbeddedFile& file) {
  router.add(http::verb::get, std::move(path), [&file](const HttpRequest& request) {
    return file_response(file.name, file.contents, request);
  });
}

// POST /console/token {"user_id": "alice", "role": "admin", "ttl_seconds": 3600}
HttpResponse mint_token(const HttpRequest& request, const std::string& secret) {
  if (secret.empty()) {
    return error_response(http::status::service_unavailable, "unavailable",
                          "development tokens need REALTIME_JWT_SECRET (HS256)", &request);
  }
  json::object body;
  if (!request.body().empty()) {
    boost::system::error_code error;
    json::value parsed = json::parse(request.body(), error);
    if (error || !parsed.is_object()) {
      return error_response(http::status::bad_request, "bad_request",
                            "the body must be a JSON object", &request);
    }
    body = std::move(parsed.get_object());
  }
  std::string user_id = "admin";
  std::string role = "admin";
  std::int64_t ttl = kDefaultTokenSeconds;
  if (const auto* value = body.if_contains("user_id")) {
    const auto* text = value->if_string();
    if (text == nullptr || text->empty() || text->size() > kMaxUserIdBytes) {
      return error_response(http::status::bad_request, "bad_request",
                            "\"user_id\" must be a string of 1 to 255 bytes", &request);
    }
    user_id = std::string(*text);
  }
  if (const auto* value = body.if_contains("role")) {
    const auto* text = value->if_string();
    if (text == nullptr || text->size() > 64) {
      return error_response(http::status::bad_request, "bad_request",
                            "\"role\" must be a string of at most 64 bytes", &request);
    }
    role = std::string(*text);
  }
  if (const auto* value = body.if_contains("ttl_seconds")) {
    const auto* number = value->if_int64();
    if (number == nullptr || *number < 1 || *number > kMaxTokenSeconds) {
      return error_response(http::status::bad_request, "bad_request",
                            "\"ttl_seconds\" must be an integer from 1 to 86400", &request);
    }
    ttl = *number;
  }
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto expires = now + std::chrono::seconds(ttl);
  json::object claims;
  claims["sub"] = user_id;
  if (!role.empty()) claims["role"] = role;
  claims["iat"] = now.time_since_epoch().count();
  claims["exp"] = expires.time_since_epoch().count();
  auto token = core::auth::sign_jwt(core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, secret},
                                    json::serialize(claims));
  if (!token) {
    return error_response(http::status::internal_server_error, "internal_error",
                          token.error().message, &request);
  }
  json::object reply;
  reply["token"] = *token;
  reply["user_id"] = user_id;
  reply["role"] = role;
  reply["expires_at"] = core::format_iso8601(expires);
  return json_response(http::status::ok, json::serialize(reply), &request);
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ts")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void add_console_routes(HttpRouter& router, const ConsoleOptions& options) {
  constexpr std::string_view kConsole = "web/console/";
  constexpr std::string_view kSdk = "clients/js/";
  constexpr std::string_view kExamples = "examples/";
  for (std::size_t i = 0; i < kConsoleFiles_count; ++i) {
    const EmbeddedFile& file = kConsoleFiles[i];
    const std::string_view name = file.name;
    if (name.starts_with(kConsole)) {
      const std::string_view rest = name.substr(kConsole.size());
      serve(router, "/console/" + std::string(rest), file);
      if (rest == "index.html") {
        serve(router, "/", file);
        serve(router, "/console", file);
        serve(router, "/console/", file);
      }
    } else if (name.starts_with(kSdk)) {
      serve(router, "/sdk/" + std::string(name.substr(kSdk.size())), file);
    } else if (name.starts_with(kExamples)) {
      const std::string path = "/" + std::string(name);
      serve(router, path, file);
      if (name.ends_with("/index.html") || name == "examples/index.html") {
        const std::string folder =
            path.substr(0, path.size() - std::string_view("index.html").size());
        serve(router, folder, file);  // /examples/chat/
        if (folder.size() > 1) serve(router, folder.substr(0, folder.size() - 1), file);
      }
    }
  }
  const bool dev_mode = options.dev_mode;
  router.add(http::verb::get, "/console/info", [dev_mode](const HttpRequest& request) {
    json::object info;
    info["dev_mode"] = dev_mode;
    info["version"] = NSELF_VERSION;
    return json_response(http::status::ok, json::serialize(info), &request);
  });
  if (dev_mode) {
    router.add(http::verb::post, "/console/token",
               [secret = options.jwt_secret](const HttpRequest& request) {
                 return mint_token(request, secret);
               });
  }
}

}  // namespace nself::server
