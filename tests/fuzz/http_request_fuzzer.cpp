// libFuzzer target: the HTTP side of the port as the server runs it on a
// request's bytes: Beast's request parser with the server's header and body
// limits, the router's route matching and {param} decoding over the admin
// API's route table (docs/API.md), the target/query helpers, the WebSocket
// handshake checks and the origin policy (server/http_router, server/handshake,
// core/origin_policy). The admin routes' store work is not reached here (it
// needs a running server); their bodies are JSON parsed like the API does.
//
// Properties: nothing crashes; every routed request gets one response with a
// status the API documents; a handshake is either accepted (a 28-character
// accept key) or rejected with 400/426; route parameters are non-empty.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/origin_policy.hpp"
#include "fuzz_check.hpp"
#include "server/handshake.hpp"
#include "server/http_router.hpp"

namespace {

namespace http = boost::beast::http;
namespace server = nself::server;

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 128 * 1024;

// The admin API's route table (server/api/routes.cpp, register_routes), each
// answering 200 once its parameters are decoded and its body (if any) is a
// JSON object, like the real handlers before they reach the store.
server::HttpRouter make_router() {
  server::HttpRouter router;
  const auto ok = [](const server::HttpRequest&) {
    return server::json_response(http::status::ok, "{}");
  };
  router.add(http::verb::get, "/health", ok);
  router.add(http::verb::get, "/metrics", ok);
  router.add_websocket_endpoint("/");
  router.add_websocket_endpoint("/ws");
  struct Pattern {
    http::verb method;
    const char* path;
    bool body;
  };
  const Pattern patterns[] = {
      {http::verb::get, "/api/stats", false},
      {http::verb::get, "/api/connections", false},
      {http::verb::delete_, "/api/connections/{id}", false},
      {http::verb::get, "/api/channels", false},
      {http::verb::post, "/api/channels", true},
      {http::verb::get, "/api/channels/{channel}", false},
      {http::verb::delete_, "/api/channels/{channel}", false},
      {http::verb::post, "/api/channels/{channel}/archive", false},
      {http::verb::get, "/api/channels/{channel}/members", false},
      {http::verb::post, "/api/channels/{channel}/members", true},
      {http::verb::delete_, "/api/channels/{channel}/members", true},
      {http::verb::delete_, "/api/channels/{channel}/members/{user}", false},
      {http::verb::post, "/api/channels/{channel}/messages", true},
      {http::verb::get, "/api/channels/{channel}/messages", false},
      {http::verb::get, "/api/channels/{channel}/presence", false},
      {http::verb::post, "/api/broadcasts", true},
      {http::verb::get, "/api/broadcasts", false},
      {http::verb::delete_, "/api/broadcasts/{id}", false},
      {http::verb::post, "/api/cleanup", false},
  };
  for (const auto& pattern : patterns) {
    const std::string path = pattern.path;
    const bool body = pattern.body;
    router.add_async(
        pattern.method, path,
        [path, body](const server::HttpRequest& request, const server::PathParams& params,
                     server::Responder respond) {
          for (const char* name : {"id", "channel", "user"}) {
            if (path.find(std::string("{") + name + "}") != std::string::npos) {
              NSELF_FUZZ_CHECK(!params.get(name).empty());
            }
          }
          const auto query = server::split_target(request.target()).query;
          for (const char* name : {"all", "limit", "before", "since", "token"}) {
            (void)server::query_param(query, name);
          }
          if (body) {
            boost::system::error_code error;
            const auto value = boost::json::parse(request.body(), error);
            if (error || !value.is_object()) {
              respond(server::error_response(http::status::bad_request, "bad_request",
                                             "the body must be a JSON object", &request));
              return;
            }
          }
          respond(server::json_response(http::status::ok, "{}", &request));
        });
  }
  return router;
}

const server::HttpRouter& router() {
  static const server::HttpRouter instance = make_router();
  return instance;
}

const nself::core::OriginPolicy& origins() {
  static const nself::core::OriginPolicy instance =
      *nself::core::OriginPolicy::parse("https://app.example.com, http://localhost:3000");
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
  parser.body_limit(kMaxBodyBytes);
  parser.eager(true);
  boost::system::error_code error;
  std::size_t offset = 0;
  while (offset < size && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(data + offset, size - offset), error);
    if (error == http::error::need_more) break;
    if (error) return 0;  // answered 400/413/431 by HttpConnection
    if (used == 0) break;
    offset += used;
  }
  if (!parser.is_done()) {
    // The connection closing mid-request (Beast's read does the same; put_eof
    // requires that something was parsed).
    if (!parser.got_some()) return 0;
    parser.put_eof(error);
    if (error || !parser.is_done()) return 0;
  }
  const server::HttpRequest request = parser.release();

  const auto target = server::split_target(request.target());
  NSELF_FUZZ_CHECK(target.path.find('?') == std::string_view::npos);

  if (router().is_websocket_endpoint(target.path) &&
      (server::wants_websocket_upgrade(request) || request.method() == http::verb::get)) {
    const server::HandshakeCheck check = server::check_websocket_handshake(request);
    NSELF_FUZZ_CHECK(check.accept_key.has_value() != check.rejection.has_value());
    if (check.accept_key) {
      NSELF_FUZZ_CHECK(check.accept_key->size() == 28);
      NSELF_FUZZ_CHECK(!server::switching_protocols_response(*check.accept_key).empty());
    } else {
      const auto status = check.rejection->result();
      NSELF_FUZZ_CHECK(status == http::status::bad_request ||
                       status == http::status::upgrade_required);
    }
    const auto found = request.find(http::field::origin);
    std::optional<std::string_view> origin;
    if (found != request.end()) origin = std::string_view(found->value());
    const bool allowed = origins().allows(origin);
    if (!origin) NSELF_FUZZ_CHECK(allowed);
    return 0;
  }

  int responses = 0;
  router().handle(request, [&](server::HttpResponse response) {
    ++responses;
    const unsigned status = response.result_int();
    NSELF_FUZZ_CHECK(status == 200 || status == 400 || status == 404 || status == 405 ||
                     status == 500);
    if (status == 500) NSELF_FUZZ_CHECK(false);  // a handler threw
  });
  NSELF_FUZZ_CHECK(responses == 1);
  return 0;
}
