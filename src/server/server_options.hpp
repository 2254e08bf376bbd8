#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/net_address.hpp"

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
  // Event loops, one thread each (REALTIME_THREADS; the CLI's default is one
  // per core). Sessions are spread over them round robin.
  std::size_t threads = 1;
  // Bytes queued for one session and not yet written (each queued frame also
  // counts kQueueEntryOverhead): past it the client is a slow consumer and is
  // closed with 1008 "slow consumer" (REALTIME_MAX_QUEUED_KB).
  std::size_t max_queued_bytes = 1024 * 1024;
  // The same over every session of the server (REALTIME_MAX_QUEUED_TOTAL_MB),
  // split evenly between the loops: while a loop is over its share, a session
  // of it whose queue passes slow_consumer_floor is closed as a slow consumer,
  // so laggards go first and clients that keep up are not touched.
  std::size_t max_queued_bytes_total = 512ull * 1024 * 1024;
  std::size_t slow_consumer_floor = 64 * 1024;
  // Batch mode (clients that ask for it: ?batch=1 or "batch":true in auth):
  // at most batch_size events per frame, held at most batch_delay to fill one
  // (0: whatever is queued during one loop turn).
  std::size_t batch_size = 64;
  std::chrono::milliseconds batch_delay{0};
  // HTTP: request header and body limits (431 and 413 past them).
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // A client must send its complete HTTP request within this time.
  std::chrono::milliseconds request_timeout{10'000};
  // A response must be written to the client (taken by its TCP stack) within
  // this time, or the connection is closed: a client that never reads cannot
  // hold a connection and its response (REALTIME_HTTP_WRITE_TIMEOUT).
  std::chrono::milliseconds response_write_timeout{30'000};
  // After the server sends a close frame it waits this long for the peer's.
  std::chrono::milliseconds close_timeout{5'000};
  // stop() closes every session with 1001 and returns within this time.
  std::chrono::milliseconds shutdown_timeout{10'000};
  // Period of the one sweep timer that drives pings, timeouts and deadlines.
  // Timeouts are therefore enforced with up to this much delay.
  std::chrono::milliseconds tick_interval{1'000};
  // TLS (wss:// and https://) when both are set: PEM certificate chain and
  // private key files (WEBSOCKET_SSL_CERT, WEBSOCKET_SSL_KEY), read once at
  // start. See server/tls_context.hpp.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Client addresses (docs/SECURITY.md, "Connections and addresses"). The
  // peers whose X-Forwarded-For names the client (REALTIME_TRUSTED_PROXIES).
  core::TrustedProxies trusted_proxies;
  // 0 is no limit. WebSocket sessions not yet authenticated, server-wide
  // (503; REALTIME_MAX_UNAUTHENTICATED_CONNECTIONS) and per client address
  // (429; REALTIME_MAX_UNAUTHENTICATED_PER_IP); connections per address
  // (REALTIME_MAX_CONNECTIONS_PER_IP) and new connections per address per
  // second (REALTIME_CONNECTS_PER_IP_PER_SECOND), both 429.
  std::size_t max_unauthenticated = 0;
  std::size_t max_unauthenticated_per_ip = 0;
  std::size_t max_connections_per_ip = 0;
  double connects_per_ip_per_second = 0;
  // Install SIGINT/SIGTERM handlers that call stop() (off in in-process tests).
  bool handle_signals = true;
};

}  // namespace nself::server
