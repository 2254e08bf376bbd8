#pragma once

// The server side of the WebSocket opening handshake (RFC 6455 4.2), checked
// on a parsed HTTP request. No I/O: HttpConnection writes what this decides.

#include <optional>
#include <string>
#include <string_view>

#include "server/http_router.hpp"

namespace nself::server {

// True when the request asks for a WebSocket upgrade at all (an Upgrade or a
// Sec-WebSocket-Key header): such a request to a WebSocket endpoint is
// answered with 101 or with a handshake error, never routed as plain HTTP.
bool wants_websocket_upgrade(const HttpRequest& request);

// Validates the upgrade: GET, HTTP/1.1 or later, "Upgrade: websocket",
// "Connection: upgrade" (token lists, any case), a valid Sec-WebSocket-Key and
// "Sec-WebSocket-Version: 13". Returns the Sec-WebSocket-Accept value, or the
// error response to send: 400, or 426 with "Sec-WebSocket-Version: 13" for a
// missing or other version. Extensions (permessage-deflate) and subprotocols
// are declined by not echoing them.
struct HandshakeCheck {
  std::optional<std::string> accept_key;  // set when the handshake is valid
  std::optional<HttpResponse> rejection;  // set otherwise
};
HandshakeCheck check_websocket_handshake(const HttpRequest& request);

// The raw "101 Switching Protocols" response for an accepted handshake.
std::string switching_protocols_response(std::string_view accept_key);

// True when the comma-separated header value has `token` (case-insensitive).
bool header_has_token(std::string_view value, std::string_view token);

}  // namespace nself::server
