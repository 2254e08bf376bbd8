#pragma once

// The HTTP side of the one listening port: a small route table for plain HTTP
// endpoints (/health now; /api/... and /metrics later register here) and the
// helpers to build responses. WebSocket endpoints are listed here too, but the
// upgrade itself is handled by HttpConnection (see handshake.hpp).
//
// Thread safety: routes are added before Server::run(); afterwards the router
// is only read (from the loop thread).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace nself::server {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// A JSON response {"error": code, "message": message} with `status`, keep-alive
// and HTTP version taken from the request (when there is one).
HttpResponse error_response(http::status status, std::string_view code, std::string_view message,
                            const HttpRequest* request = nullptr);
// A response with a JSON body text.
HttpResponse json_response(http::status status, std::string body,
                           const HttpRequest* request = nullptr);

// The request target split at '?'. `path` never contains the query.
struct Target {
  std::string_view path;
  std::string_view query;  // without the '?'
};
Target split_target(std::string_view target);
// The percent-decoded value of the first `name=` parameter in a query string
// ('+' is a space). None when absent or when its encoding is malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

class HttpRouter {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Registers `handler` for exactly `method` `path` (no query). A later
  // registration of the same pair replaces the earlier one.
  void add(http::verb method, std::string path, Handler handler);
  // Declares `path` a WebSocket endpoint (GET with an upgrade).
  void add_websocket_endpoint(std::string path);
  bool is_websocket_endpoint(std::string_view path) const;

  // Runs the matching handler; 404 when no route has the path, 405 (with an
  // Allow header) when the path exists for other methods. Exceptions from a
  // handler become 500.
  HttpResponse handle(const HttpRequest& request) const;

 private:
  struct Route {
    http::verb method;
    std::string path;
    Handler handler;
  };
  std::vector<Route> routes_;
  std::unordered_set<std::string> websocket_paths_;
};

}  // namespace nself::server
