#include "server/console_routes.hpp"

#include <openssl/sha.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>

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

// The SDK's URL has no version in it: browsers may use their copy for an
// hour, then revalidate it (ETag). The pages and their files are revalidated
// at each load.
constexpr std::string_view kSdkCacheControl = "public, max-age=3600";
constexpr std::string_view kPageCacheControl = "no-cache";

}  // namespace

std::string gzip_compress(std::string_view data) {
  z_stream stream{};
  // 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

bool accepts_gzip(std::string_view accept_encoding) {
  // Comma-separated codings with optional ";q=": gzip (or *) unless q=0.
  while (!accept_encoding.empty()) {
    const std::size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? "" : accept_encoding.substr(comma + 1);
    auto trim = [](std::string_view text) {
      while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
      return text;
    };
    const std::size_t semicolon = item.find(';');
    const std::string_view coding = trim(item.substr(0, semicolon));
    if (coding != "gzip" && coding != "*") continue;
    if (semicolon == std::string_view::npos) return true;
    std::string_view parameter = trim(item.substr(semicolon + 1));
    if (!parameter.starts_with("q=")) return true;
    parameter.remove_prefix(2);
    // q=0, q=0.0, q=0.000: refused; anything else accepts.
    if (parameter.find_first_not_of("0.") != std::string_view::npos) return true;
  }
  return false;
}

namespace {

// A file with what is computed once for it: its strong ETag (from its
// bytes) and its gzip form, kept only when it is smaller. The two are
// different representations, so each has its own strong ETag.
struct PreparedFile {
  const EmbeddedFile* file;
  std::string etag;
  std::string gzipped;  // empty: served as is
  std::string gzip_etag;
  std::string_view cache_control;
  // The SDK: a page of any origin may load it as a module (which needs CORS);
  // it is public code and carries no credentials.
  bool any_origin = false;
};

std::string strong_etag(std::string_view contents) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(contents.data()), contents.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string etag = "\"";
  for (int i = 0; i < 16; ++i) {  // 128 bits are plenty to tell versions apart
    etag += kHex[digest[i] >> 4];
    etag += kHex[digest[i] & 0xf];
  }
  etag += '"';
  return etag;
}

std::shared_ptr<const PreparedFile> prepare(const EmbeddedFile& file,
                                            std::string_view cache_control,
                                            bool any_origin = false) {
  auto prepared = std::make_shared<PreparedFile>();
  prepared->file = &file;
  prepared->any_origin = any_origin;
  prepared->etag = strong_etag(file.contents);
  prepared->cache_control = cache_control;
  const std::string_view name = file.name;
  if (!name.ends_with(".png")) {
    std::string gzipped = gzip_compress(file.contents);
    if (gzipped.size() < file.contents.size()) {
      prepared->gzipped = std::move(gzipped);
      prepared->gzip_etag = prepared->etag;
      prepared->gzip_etag.insert(prepared->gzip_etag.size() - 1, "-gzip");
    }
  }
  return prepared;
}

// Whether If-None-Match names `etag` (or is "*"); weak forms compare equal too.
bool matches_etag(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.find('*') != std::string_view::npos) return true;
  return if_none_match.find(etag) != std::string_view::npos;
}

HttpResponse file_response(const PreparedFile& prepared, const HttpRequest& request) {
  const EmbeddedFile& file = *prepared.file;
  const bool gzipped =
      !prepared.gzipped.empty() && accepts_gzip(request[http::field::accept_encoding]);
  const std::string& etag = gzipped ? prepared.gzip_etag : prepared.etag;
  const bool not_modified = matches_etag(request[http::field::if_none_match], etag);
  HttpResponse response{not_modified ? http::status::not_modified : http::status::ok,
                        request.version()};
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "nself-realtime/" NSELF_VERSION);
  response.set(http::field::content_type, content_type_for(file.name));
  response.set(http::field::cache_control, prepared.cache_control);
  response.set(http::field::etag, etag);
  response.set("X-Content-Type-Options", "nosniff");
  if (!prepared.gzipped.empty()) response.set(http::field::vary, "Accept-Encoding");
  if (prepared.any_origin) response.set(http::field::access_control_allow_origin, "*");
  if (gzipped) response.set(http::field::content_encoding, "gzip");
  if (not_modified) return response;
  response.body() = gzipped ? prepared.gzipped : std::string(file.contents);
  response.prepare_payload();
  return response;
}

void serve(HttpRouter& router, std::string path, std::shared_ptr<const PreparedFile> prepared) {
  router.add(http::verb::get, std::move(path),
             [prepared](const HttpRequest& request) { return file_response(*prepared, request); });
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
      const auto prepared = prepare(file, kPageCacheControl);
      const std::string_view rest = name.substr(kConsole.size());
      serve(router, "/console/" + std::string(rest), prepared);
      if (rest == "index.html") {
        serve(router, "/", prepared);
        serve(router, "/console", prepared);
        serve(router, "/console/", prepared);
      }
    } else if (name.starts_with(kSdk)) {
      serve(router, "/sdk/" + std::string(name.substr(kSdk.size())),
            prepare(file, kSdkCacheControl, /*any_origin=*/true));
    } else if (name.starts_with(kExamples)) {
      const auto prepared = prepare(file, kPageCacheControl);
      const std::string path = "/" + std::string(name);
      serve(router, path, prepared);
      if (name.ends_with("/index.html") || name == "examples/index.html") {
        const std::string folder =
            path.substr(0, path.size() - std::string_view("index.html").size());
        serve(router, folder, prepared);  // /examples/chat/
        if (folder.size() > 1) serve(router, folder.substr(0, folder.size() - 1), prepared);
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
