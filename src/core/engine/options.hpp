#pragma once

// The engine's settings (docs/CONFIGURATION.md has their .env keys).

#include <chrono>
#include <cstddef>
#include <string>

#include "core/content_filter.hpp"
#include "core/rate_limit.hpp"

namespace nself::core::engine {

struct EngineOptions {
  // Unauthenticated connections are closed 4001 after this.
  std::chrono::milliseconds auth_timeout{10'000};
  // A typing indicator not renewed within this time is sent as typing:false.
  std::chrono::milliseconds typing_timeout{6'000};
  // realtime.connections.last_seen_at refresh (the manual's 30 s heartbeat).
  std::chrono::milliseconds heartbeat_interval{30'000};
  // Limits (docs/PROTOCOL.md "Limits").
  int max_connections_per_user = 5;
  int max_messages_per_second = 10;
  FloodPolicy flood;
  int max_subscriptions = 50;
  // Requests whose work is a store read or write (history, read): a second
  // bucket per user, and a bound on those of one connection still waiting
  // for the store (with the channel reads its messages start).
  int max_store_requests_per_second = 50;
  int max_store_requests_in_flight = 16;
  // Presence: idle members become away; rows not refreshed for
  // stale_presence_after are deleted by the heartbeat.
  std::chrono::milliseconds away_after{300'000};
  std::chrono::milliseconds stale_presence_after{90'000};
  // How long a channel's access answer (membership, can_send) is trusted.
  std::chrono::milliseconds access_ttl{30'000};
  // Redaction of message content before it is stored and delivered.
  ContentFilter content_filter;
  // The bytes one history reply (history, subscribe history / since) may
  // carry: half of a connection's send-queue bound (REALTIME_MAX_QUEUED_KB),
  // so that a reply never closes the client that asked (core/history_page.hpp).
  std::size_t history_page_bytes = 512 * 1024;
};

}  // namespace nself::core::engine
