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

// A JSON response {"error": {"code": code, "message": message}} with `status`, keep-alive
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

// The values of a route pattern's {name} segments, percent-decoded as RFC 3986
// says (a '+' stays a '+'; only a query string decodes it as a space).
// Also the client's address (the socket peer, or the client a trusted
// proxy's X-Forwarded-For names; docs/SECURITY.md "Connections and
// addresses"), which per-address limits key on.
class PathParams {
 public:
  void set(std::string name, std::string value);
  // The value of {name}; empty when the pattern has no such segment.
  const std::string& get(std::string_view name) const;
  // The client's address ("" when not known: tests calling handle() directly).
  const std::string& client_address() const { return client_address_; }
  void set_client_address(std::string address) { client_address_ = std::move(address); }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
  std::string client_address_;
};

// Finishes an asynchronous request. Must be called exactly once, on the loop
// thread (post to the loop from other threads). HTTP version, keep-alive and
// HEAD handling are applied by the router, so handlers may build responses
// without the request (json_response(status, body)).
using Responder = std::function<void(HttpResponse)>;

class HttpRouter {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // The request is only valid during the call: copy what is needed later.
  using AsyncHandler = std::function<void(const HttpRequest&, const PathParams&, Responder)>;

  // Registers `handler` for exactly `method` `path` (no query). A later
  // registration of the same pair replaces the earlier one.
  void add(http::verb method, std::string path, Handler handler);
  // The handler registered for exactly `method` `path`, or null (to wrap it).
  Handler handler(http::verb method, std::string_view path) const;
  // Registers an asynchronous handler for `method` and a pattern whose
  // segments are literal or "{name}" (one non-empty segment), e.g.
  // "/api/channels/{channel}/members". Literal routes are tried first.
  void add_async(http::verb method, std::string pattern, AsyncHandler handler);
  // Declares `path` a WebSocket endpoint (GET with an upgrade).
  void add_websocket_endpoint(std::string path);
  bool is_websocket_endpoint(std::string_view path) const;
  // True when a literal (synchronous) route is registered for `method` and
  // `path`: a plain GET of a WebSocket endpoint with one (the web console's
  // GET /) is served by it instead of being refused as a bad upgrade.
  bool has_route(http::verb method, std::string_view path) const;

  // Runs the matching handler and passes its response to `respond` (at once
  // for a synchronous handler, later for an asynchronous one); 404 when no
  // route has the path, 405 (with an Allow header) when the path exists for
  // other methods. Exceptions thrown by a handler's call become 500.
  void handle(const HttpRequest& request, Responder respond) const {
    handle(request, std::string(), std::move(respond));
  }
  // The same for a client at `client_address` (PathParams::client_address).
  void handle(const HttpRequest& request, const std::string& client_address,
              Responder respond) const;
  // The same for synchronous routes only (tests); an asynchronous route gives 500.
  HttpResponse handle(const HttpRequest& request) const;

 private:
  struct Route {
    http::verb method;
    std::string path;  // the pattern for asynchronous routes
    Handler handler;
    AsyncHandler async_handler;
  };
  std::vector<Route> routes_;
  std::unordered_set<std::string> websocket_paths_;
};

}  // namespace nself::server
