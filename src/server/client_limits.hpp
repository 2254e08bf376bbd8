#pragma once

// The server's per-address connection limits (core::ConnectionLimits behind
// one mutex, shared by every loop) and the leases that hold a connection's
// share of them. docs/SECURITY.md, "Connections and addresses".
//
// Who is charged: a connection from an untrusted peer is charged to the
// peer's address when it is accepted (every TCP connection, HTTP or
// WebSocket); through a trusted proxy (ServerOptions::trusted_proxies) the
// proxy's connection is not charged, and each WebSocket upgrade is charged
// to the client named by X-Forwarded-For instead (a proxy's keep-alive
// connection carries requests of many clients). An upgrade without a token
// also counts as unauthenticated until the protocol layer authenticates the
// session (WsSession::mark_authenticated) or it closes.
//
// Thread safety: ClientLimits may be used from any thread; a Lease belongs
// to one connection (one thread at a time).

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "core/connection_limits.hpp"
#include "server/http_router.hpp"
#include "server/server_options.hpp"

namespace nself::server {

class ClientLimits {
 public:
  explicit ClientLimits(const ServerOptions& options);

  // One connection's share; released by release() or the destructor.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { release(); }
    // Counts the connection as an unauthenticated WebSocket session; a
    // refusal leaves it uncounted.
    core::ConnectionRefusal begin_unauthenticated();
    // The session authenticated (or never was unauthenticated): idempotent.
    void authenticated();
    // Counts the connection as one that has not sent a complete request yet
    // (REALTIME_MAX_UNAUTHENTICATED_PER_IP applies to those too); a refusal
    // leaves it uncounted. request_arrived() ends it: idempotent.
    core::ConnectionRefusal begin_waiting();
    void request_arrived();
    void release();
    bool held() const { return owner_ != nullptr; }
    bool unauthenticated() const { return unauthenticated_; }

   private:
    friend class ClientLimits;
    ClientLimits* owner_ = nullptr;
    std::string key_;
    bool unauthenticated_ = false;
    bool waiting_ = false;
  };

  struct Admission {
    Lease lease;  // held when admitted
    core::ConnectionRefusal refusal = core::ConnectionRefusal::kNone;
    long retry_after_seconds = 0;
  };
  // A new connection of the client whose limit key is `key`.
  Admission open(const std::string& key, std::chrono::steady_clock::time_point now);
  // Unauthenticated WebSocket sessions now (all addresses).
  std::size_t unauthenticated() const;

 private:
  mutable std::mutex mutex_;
  core::ConnectionLimits limits_;  // guarded by mutex_
};

// What a client refused by `refusal` gets: 429 for its own address's limits,
// 503 for the server-wide cap; a JSON error body and Retry-After.
HttpResponse refusal_response(core::ConnectionRefusal refusal, long retry_after_seconds,
                              const HttpRequest* request = nullptr);

}  // namespace nself::server
