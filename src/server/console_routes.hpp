#pragma once

// The web console and the files it needs, served from bytes compiled into the
// binary (cmake/embed_files.cmake over web/console/, clients/js/ and
// examples/): no files are read at run time.
//
//   GET /, /console, /console/       the console page (web/console/index.html)
//   GET /console/<file>              its scripts and styles
//   GET /console/info                {"dev_mode": bool, "version": "..."}
//   GET /sdk/realtime-client.js      the JavaScript SDK (clients/js)
//   GET /examples/, /examples/<demo>/ and their files   the demos (examples/)
//   POST /console/token              development mode only (REALTIME_DEV_MODE):
//                                    a signed token for any user, see docs/CLIENTS.md
//
// Every file is sent gzipped to a client that accepts it (Vary:
// Accept-Encoding), with a strong ETag per representation (If-None-Match ->
// 304); the SDK may be cached for an hour (Cache-Control: public,
// max-age=3600) and loaded by a page of any origin
// (Access-Control-Allow-Origin: *); the pages revalidate.
//
// Without development mode POST /console/token is not registered at all (404):
// a production server never mints tokens.
//
// Thread safety: register before Server::run(); handlers only read.

#include <string>
#include <string_view>

#include "server/http_router.hpp"

namespace nself::server {

struct ConsoleOptions {
  bool dev_mode = false;
  // The HS256 secret dev tokens are signed with (REALTIME_JWT_SECRET). Empty:
  // POST /console/token answers 503 even in development mode.
  std::string jwt_secret;
};

void add_console_routes(HttpRouter& router, const ConsoleOptions& options);

// The Content-Type for a file name by its extension (text/javascript, ...).
std::string_view content_type_for(std::string_view name);

// `data` in gzip format (RFC 1952), at the best compression.
std::string gzip_compress(std::string_view data);

// Whether an Accept-Encoding value accepts gzip (gzip or *, without q=0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace nself::server
