#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nself::cli {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 request to the local server (the CLI's way to ask a running
// server). Returns nullopt when nothing answers within `timeout` (refused,
// closed, timed out, or a TLS server whose certificate is not trusted).
//
// `tls_cert` (the server's WEBSOCKET_SSL_CERT) non-empty: HTTPS. The server's
// certificate is accepted when it is the first certificate of that file (so
// a self-signed one works, and no host name is checked: the file pins it), or
// when it verifies against the system's trusted CAs.
std::optional<HttpResponse> http_request(
    const std::string& host, int port, const std::string& method, const std::string& target,
    const std::string& body = {},
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(3), const std::string& tls_cert = {});

// The address to reach a server that binds `bind_host`: a wildcard bind is
// reached on loopback.
std::string connect_host(const std::string& bind_host);

}  // namespace nself::cli
