#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace nself::server {

// Everything the transport needs to know. The defaults match the manual's
// .env defaults (WEBSOCKET_*); the CLI fills these from core::Config.
struct ServerOptions {
  std::string host = "0.0.0.0";
  // 0 binds an ephemeral port (tests); Server::port() tells which.
  std::uint16_t port = 3100;
  // Open WebSocket sessions; an upgrade past it is answered with HTTP 503.
  std::size_t max_connections = 1000;
  // The server pings every session this often (WEBSOCKET_PING_INTERVAL).
  std::chrono::milliseconds ping_interval{30'000};
  // A session from which nothing was received for this long is closed
  // (WEBSOCKET_TIMEOUT). Any frame counts, including a pong.
  std::chrono::milliseconds idle_timeout{60'000};
  // An unauthenticated session is closed (4001) after this long (used by the
  // protocol layer; the transport only carries it).
  std::chrono::milliseconds auth_timeout{10'000};
  // Largest reassembled incoming message; more closes with 1009.
  std::size_t max_message_bytes = 64 * 1024;
  // Bytes queued for one session and not yet written: past it the client is a
  // slow consumer and is closed with 1008 "slow consumer".
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  // HTTP: request header and body limits (431 and 413 past them).
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // A client must send its complete HTTP request within this time.
  std::chrono::milliseconds request_timeout{10'000};
  // After the server sends a close frame it waits this long for the peer's.
  std::chrono::milliseconds close_timeout{5'000};
  // stop() closes every session with 1001 and returns within this time.
  std::chrono::milliseconds shutdown_timeout{10'000};
  // Period of the one sweep timer that drives pings, timeouts and deadlines.
  // Timeouts are therefore enforced with up to this much delay.
  std::chrono::milliseconds tick_interval{1'000};
  // Install SIGINT/SIGTERM handlers that call stop() (off in in-process tests).
  bool handle_signals = true;
};

}  // namespace nself::server
