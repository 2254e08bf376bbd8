#pragma once

// One WebSocket connection after its handshake: reads bytes into the loop's
// shared read buffer and feeds them to core::ws::FrameDecoder, answers pings
// and the close handshake, hands data messages to the SessionHandler, and
// writes everything queued for it.
//
// Write path: the outgoing queue holds pre-framed buffers
// (shared_ptr<const std::string>), so one framed fan-out event is shared by
// every subscriber. The first send of a loop turn posts one flush; the flush
// writes everything queued so far with ONE async_write of a buffer sequence
// (writev). While a write is in flight, new frames wait for the next flush.
// In batch mode (set_batching) consecutive queued text events leave as ONE
// text frame whose payloads are joined by "\n": a new header, then views of
// the shared frames' payloads and separators, so nothing is copied.
// Bytes queued and not yet written are bounded by ServerOptions::max_queued_bytes,
// and over all sessions by max_queued_bytes_total (see Loop::over_queue_budget):
// past either the queued frames are dropped and the session is closed with 1008
// "slow consumer" (a client that cannot keep up must resync with history).
//
// Reading: over plain TCP the session waits for readiness and reads without
// blocking into the loop's shared buffer (an idle session holds no read
// buffer). Over TLS it keeps one asynchronous read of the TLS stream in
// flight into a small buffer of its own (decryption completes inside OpenSSL,
// so the shared buffer could be overwritten before the handler runs), and
// each write is gathered into one contiguous buffer first (asio's TLS stream
// would otherwise make one TLS record and one system call per queued frame).
//
// Closing: close() queues a close frame; after it is written the send side is
// shut down and the session keeps reading until the peer's close or EOF, or
// until close_timeout, then closes the socket. A close from the peer is echoed.
//
// Thread safety: none; a session lives on one loop thread and every method
// must be called there, except info(), id() and last_received() (any thread).

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws/frame_codec.hpp"
#include "server/client_limits.hpp"
#include "server/transport.hpp"

namespace nself::server {

class Loop;

// What is known about a connection from its socket and its upgrade request.
struct SessionInfo {
  std::string id;  // unique per server run (UUID form)
  std::string
      remote_address;  // the client's ip: the peer's, or via a trusted proxy X-Forwarded-For's
  std::string peer_address;  // the socket peer's ip
  std::uint16_t remote_port = 0;
  std::chrono::system_clock::time_point connected_at;
};

// What the protocol layer may need from the upgrade request, during on_open
// only (a token may be in either; an idle connection keeps neither).
struct UpgradeRequest {
  std::string target;         // request target of the upgrade (path and query)
  std::string authorization;  // the Authorization header, verbatim ("" when absent)
  std::string user_agent;     // the User-Agent header ("" when absent)
};

// Per-session state owned by the application layer (see SessionHandler).
class SessionContext {
 public:
  virtual ~SessionContext() = default;
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  enum class State { kOpen, kClosing, kClosed };

  WsSession(Loop& loop, Transport transport, SessionInfo info, UpgradeRequest upgrade = {},
            ClientLimits::Lease lease = {});
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  // Queues `handshake_response` (the 101) raw, calls on_open, processes
  // `leftover` (bytes the client sent right after its request) and starts reading.
  void start(std::string handshake_response, std::string leftover);

  // Frames `text` as one text message and queues it.
  void send_text(std::string_view text);
  // Queues an already framed message (shared between subscribers).
  void send_frame(std::shared_ptr<const std::string> frame);
  // Starts the close handshake with `code` and `reason`; later sends are dropped.
  // Does nothing when a close was already sent.
  void close(std::uint16_t code, std::string_view reason);
  // Closes the socket now, without a close frame.
  void abort();

  // Batch mode: queued text events are joined into frames of up to
  // ServerOptions::batch_size events (see the write path above).
  void set_batching(bool on) { batching_ = on; }
  bool batching() const { return batching_; }
  // Loop: the batch delay is over; writes what is queued.
  void flush_delayed();
  // Set by the protocol layer on authentication: the session receives system
  // announcements (HubCommand::kDeliverAll). Loop thread.
  void set_wants_announcements(bool on) { wants_announcements_ = on; }
  bool wants_announcements() const { return wants_announcements_; }
  // Called by the protocol layer when the session authenticates (auth_ok):
  // it stops counting as unauthenticated (client_limits.hpp). Idempotent.
  // Loop thread.
  void mark_authenticated() { lease_.authenticated(); }

  // The sweep: sends pings, closes idle sessions, enforces the close timeout.
  void on_tick(SteadyTime now);

  // The executor of the session's loop: completions from other threads are
  // posted here.
  boost::asio::any_io_executor executor() { return transport_.socket().get_executor(); }
  bool is_tls() const { return transport_.is_tls(); }

  Loop& loop() const { return loop_; }
  const SessionInfo& info() const { return info_; }
  // The upgrade request: during SessionHandler::on_open only (empty after).
  const UpgradeRequest& upgrade() const;
  const std::string& id() const { return info_.id; }
  State state() const { return state_; }
  bool is_open() const { return state_ == State::kOpen; }
  std::size_t queued_bytes() const { return queued_bytes_; }
  SteadyTime last_received() const {
    return SteadyTime(SteadyTime::duration(last_received_.load(std::memory_order_relaxed)));
  }
  std::uint64_t messages_received() const { return messages_received_; }

  SessionContext* context() const { return context_.get(); }
  void set_context(std::unique_ptr<SessionContext> context) { context_ = std::move(context); }

 private:
  // A queued frame; `event`: a complete text frame that batch mode may join.
  struct Queued {
    std::shared_ptr<const std::string> bytes;
    bool event = false;
  };
  // What one queued frame costs against the bounds: its bytes plus the
  // bookkeeping of one queue entry (pointer, buffer view, slack).
  static std::size_t cost(const Queued& queued);
  void enqueue(std::shared_ptr<const std::string> frame, bool bypass_limit, bool event = false);
  void release(std::vector<Queued>& frames);
  void schedule_flush();
  void flush();
  // Builds buffers_ from in_flight_, joining runs of events (batch mode).
  void gather_batches();
  void on_written(const boost::system::error_code& error);
  void wait_readable();
  void read_tls();
  void on_readable(const boost::system::error_code& error);
  void process(std::string_view bytes);
  void handle(core::ws::Event& event);
  void after_close_written();
  void finish();

  Loop& loop_;
  Transport transport_;
  SessionInfo info_;
  ClientLimits::Lease lease_;  // released when the socket closes
  core::ws::FrameDecoder decoder_;

  std::unique_ptr<UpgradeRequest> upgrade_;  // until on_open returns
  std::vector<Queued> pending_;              // waiting for a flush
  // The write in progress; allocated for a write, released when idle.
  struct InFlight {
    std::vector<Queued> frames;
    std::vector<boost::asio::const_buffer> buffers;  // views of frames (and batch_headers)
    std::vector<std::string> batch_headers;          // batch mode: headers of joined frames
    std::string gathered;                            // TLS: the buffers in one piece
  };
  std::unique_ptr<InFlight> in_flight_;
  std::size_t queued_bytes_ = 0;  // cost of pending + in flight
  std::size_t pending_events_ = 0;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool flush_delayed_ = false;  // waiting in the loop's batch-delay list
  bool batching_ = false;
  bool wants_announcements_ = false;

  State state_ = State::kOpen;
  bool close_sent_ = false;       // a close frame is queued or written
  bool close_in_flight_ = false;  // ... and is part of the write in flight
  bool close_written_ = false;    // ... and has been written
  bool peer_close_received_ = false;
  bool decoder_failed_ = false;
  bool reading_ = false;
  std::unique_ptr<std::array<char, 8192>> tls_read_buffer_;  // TLS only
  SteadyTime close_deadline_{};

  std::atomic<SteadyTime::rep> last_received_;
  SteadyTime last_ping_sent_;
  std::uint64_t messages_received_ = 0;
  std::unique_ptr<SessionContext> context_;
};

}  // namespace nself::server
