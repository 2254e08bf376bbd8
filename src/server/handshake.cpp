#include "server/handshake.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include "core/ws/frame_codec.hpp"

namespace nself::server {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

HttpResponse bad_request(const HttpRequest& request, std::string_view message) {
  HttpResponse response =
      error_response(http::status::bad_request, "bad_handshake", message, &request);
  response.keep_alive(false);
  return response;
}

}  // namespace

bool header_has_token(std::string_view value, std::string_view token) {
  while (true) {
    auto comma = value.find(',');
    if (boost::beast::iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

bool wants_websocket_upgrade(const HttpRequest& request) {
  return request.find(http::field::upgrade) != request.end() ||
         request.find(http::field::sec_websocket_key) != request.end();
}

HandshakeCheck check_websocket_handshake(const HttpRequest& request) {
  if (request.method() != http::verb::get) {
    return {std::nullopt, bad_request(request, "a WebSocket upgrade must be a GET request")};
  }
  if (request.version() < 11) {
    return {std::nullopt, bad_request(request, "a WebSocket upgrade needs HTTP/1.1")};
  }
  if (!header_has_token(request[http::field::upgrade], "websocket")) {
    return {std::nullopt, bad_request(request, "missing \"Upgrade: websocket\"")};
  }
  if (!header_has_token(request[http::field::connection], "upgrade")) {
    return {std::nullopt, bad_request(request, "missing \"Connection: upgrade\"")};
  }
  if (trim(request[http::field::sec_websocket_version]) != "13") {
    HttpResponse response = error_response(http::status::upgrade_required, "unsupported_version",
                                           "only WebSocket version 13 is supported", &request);
    response.set(http::field::sec_websocket_version, "13");
    response.keep_alive(false);
    return {std::nullopt, std::move(response)};
  }
  std::string_view key = trim(request[http::field::sec_websocket_key]);
  if (!core::ws::is_valid_client_key(key)) {
    return {std::nullopt, bad_request(request, "missing or invalid Sec-WebSocket-Key")};
  }
  return {core::ws::compute_accept_key(key), std::nullopt};
}

std::string switching_protocols_response(std::string_view accept_key) {
  std::string out;
  out.reserve(160);
  out += "HTTP/1.1 101 Switching Protocols\r\n";
  out += "Upgrade: websocket\r\n";
  out += "Connection: Upgrade\r\n";
  out += "Sec-WebSocket-Accept: ";
  out += accept_key;
  out += "\r\n\r\n";
  return out;
}

}  // namespace nself::server
