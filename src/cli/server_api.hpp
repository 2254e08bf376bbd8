#pragma once

// How commands reach a running server of this project: the pid file of its
// port (CommandContext::server_config(): --port, or the one server running)
// names a live nself process, and its HTTP API (docs/API.md) answers on that
// port with the admin secret from the configuration.

#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "cli/command_context.hpp"

namespace nself::cli {

// True when a server of this project runs on server_config().port.
bool server_running(CommandContext& context);

// Calls the running server's API and returns the JSON body of a 2xx answer.
// Throws CommandError: exit 2 when REALTIME_ADMIN_SECRET is not set; exit 1
// when the server does not answer, and with the API's error code and message
// for an error answer.
boost::json::value call_server_api(CommandContext& context, std::string_view method,
                                   const std::string& target,
                                   const boost::json::value* body = nullptr,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Percent-encodes one path segment (everything but A-Z a-z 0-9 - . _ ~).
std::string encode_path_segment(std::string_view text);

}  // namespace nself::cli
