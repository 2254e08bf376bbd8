#include "server/loop.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "core/ws/frame_codec.hpp"
#include "server/http_connection.hpp"

namespace nself::server {

namespace asio = boost::asio;

namespace {

// One read buffer per loop, shared by all its sessions.
constexpr std::size_t kReadBufferBytes = 64 * 1024;

}  // namespace

thread_local Loop* Loop::current_ = nullptr;

Loop::Loop(asio::io_context& io, const ServerOptions& options, SessionHandler& handler,
           const HttpRouter& router, std::size_t index, std::atomic<std::size_t>& open_sessions,
           asio::any_io_executor control, ClientLimits& limits, std::atomic<std::size_t>& open_http)
    : io_(io),
      options_(options),
      handler_(handler),
      router_(router),
      index_(index),
      open_sessions_(open_sessions),
      control_(std::move(control)),
      limits_(limits),
      open_http_(open_http),
      read_buffer_(kReadBufferBytes),
      queue_budget_(options.max_queued_bytes_total / std::max<std::size_t>(options.threads, 1)),
      batch_timer_(io),
      random_(std::random_device{}()) {}

void Loop::flush_later(std::shared_ptr<WsSession> session) {
  delayed_flushes_.push_back(std::move(session));
  if (batch_timer_armed_) return;
  batch_timer_armed_ = true;
  batch_timer_.expires_after(options_.batch_delay);
  batch_timer_.async_wait([this](const boost::system::error_code&) {
    batch_timer_armed_ = false;
    std::vector<std::shared_ptr<WsSession>> due;
    due.swap(delayed_flushes_);
    for (const auto& session : due) session->flush_delayed();
  });
}

void Loop::push(HubCommand command) {
  if (on_this_thread()) {
    {
      std::lock_guard lock(mailbox_mutex_);
      mailbox_.push_back(std::move(command));
    }
    drain();
    return;
  }
  bool post = false;
  {
    std::lock_guard lock(mailbox_mutex_);
    mailbox_.push_back(std::move(command));
    post = !drain_posted_;
    drain_posted_ = true;
  }
  if (post) asio::post(io_, [this] { drain(); });
}

void Loop::drain() {
  {
    std::lock_guard lock(mailbox_mutex_);
    draining_.swap(mailbox_);
    drain_posted_ = false;
  }
  for (const HubCommand& command : draining_) {
    if (command.kind == HubCommand::Kind::kSendTo) {
      command.target->send_frame(command.frame);
      continue;
    }
    if (command.kind == HubCommand::Kind::kDeliverAll) {
      // System announcements: every session that authenticated.
      for (const auto& [key, session] : sessions_) {
        if (session->wants_announcements()) session->send_frame(command.frame);
      }
      continue;
    }
    hub_.apply(command);
  }
  draining_.clear();
}

void Loop::route(std::shared_ptr<const HttpRequest> request, std::string client_address,
                 Responder respond) {
  // The admin API, the scheduler and their state live on the control loop;
  // the response goes back to the connection's loop.
  asio::post(control_, [this, request = std::move(request), client = std::move(client_address),
                        respond = std::move(respond)] {
    router_.handle(*request, client, [this, respond](HttpResponse response) {
      asio::post(io_, [respond, response = std::move(response)]() mutable {
        respond(std::move(response));
      });
    });
  });
}

void Loop::adopt(asio::ip::tcp::socket socket, AcceptedPeer peer) {
  std::uint64_t key = next_http_key_++;
  auto connection = std::make_shared<HttpConnection>(
      *this,
      tls_context_ ? Transport(std::move(socket), *tls_context_) : Transport(std::move(socket)),
      key, std::move(peer));
  http_connections_.emplace(key, connection);
  open_http_.fetch_add(1, std::memory_order_relaxed);
  connection->start();
}

void Loop::note_untrusted_forwarded_for(const core::IpAddress& peer) {
  if (noted_forwarded_for_) return;
  noted_forwarded_for_ = true;
  spdlog::info(
      "X-Forwarded-For from {} ignored: the peer is not in REALTIME_TRUSTED_PROXIES (set it to "
      "your proxy's address if it is one; logged once)",
      peer.to_string());
}

bool Loop::has_capacity() const {
  return !shutting_down_ &&
         open_sessions_.load(std::memory_order_relaxed) < options_.max_connections;
}

void Loop::start_session(Transport transport, SessionInfo info, UpgradeRequest upgrade,
                         std::string handshake_response, std::string leftover,
                         ClientLimits::Lease lease) {
  auto session = std::make_shared<WsSession>(*this, std::move(transport), std::move(info),
                                             std::move(upgrade), std::move(lease));
  sessions_.emplace(session.get(), session);
  open_sessions_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("connection {} opened from {} ({} open)", session->id(),
                session->info().remote_address, sessions_.size());
  session->start(std::move(handshake_response), std::move(leftover));
}

void Loop::session_finished(WsSession& session) {
  auto found = sessions_.find(&session);
  if (found == sessions_.end()) return;
  // Keep the session alive until the end of this call: the map held the last
  // reference when the sweep (rather than an I/O completion) closed it.
  std::shared_ptr<WsSession> keep = found->second;
  handler_.on_closed(session);
  sessions_.erase(found);
  open_sessions_.fetch_sub(1, std::memory_order_relaxed);
  spdlog::debug("connection {} closed ({} open)", session.id(), sessions_.size());
  if (shutting_down_ && sessions_.empty() && on_drained_) {
    auto drained = std::move(on_drained_);
    on_drained_ = nullptr;
    asio::post(io_, std::move(drained));
  }
}

void Loop::http_finished(std::uint64_t key) {
  auto found = http_connections_.find(key);
  if (found == http_connections_.end()) return;
  // Destroy it after the current handler returns (it is likely running now).
  asio::post(io_, [connection = std::move(found->second)] {});
  http_connections_.erase(found);
  open_http_.fetch_sub(1, std::memory_order_relaxed);
}

void Loop::tick(SteadyTime now) {
  handler_.on_loop_tick(*this, now);
  // Collect first: a tick may close sessions, which removes them from the map.
  std::vector<std::shared_ptr<WsSession>> sessions;
  sessions.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) sessions.push_back(session);
  for (const auto& session : sessions) {
    if (session->is_open()) handler_.on_tick(*session, now);
    session->on_tick(now);
  }
  std::vector<std::shared_ptr<HttpConnection>> connections;
  connections.reserve(http_connections_.size());
  for (const auto& [key, connection] : http_connections_) connections.push_back(connection);
  for (const auto& connection : connections) connection->on_tick(now);
}

void Loop::begin_shutdown(std::function<void()> on_drained) {
  shutting_down_ = true;
  on_drained_ = std::move(on_drained);
  std::vector<std::shared_ptr<HttpConnection>> connections;
  for (const auto& [key, connection] : http_connections_) connections.push_back(connection);
  for (const auto& connection : connections) connection->abort();
  std::vector<std::shared_ptr<WsSession>> sessions;
  for (const auto& [id, session] : sessions_) sessions.push_back(session);
  for (const auto& session : sessions) {
    session->close(core::ws::close_code::kGoingAway, "server shutting down");
  }
  if (sessions_.empty() && on_drained_) {
    auto drained = std::move(on_drained_);
    on_drained_ = nullptr;
    asio::post(io_, std::move(drained));
  }
}

void Loop::abort_all() {
  std::vector<std::shared_ptr<WsSession>> sessions;
  for (const auto& [id, session] : sessions_) sessions.push_back(session);
  for (const auto& session : sessions) session->abort();
  std::vector<std::shared_ptr<HttpConnection>> connections;
  for (const auto& [key, connection] : http_connections_) connections.push_back(connection);
  for (const auto& connection : connections) connection->abort();
}

std::string Loop::next_session_id() {
  // A version 4 UUID: realtime.connections.connection_id is a UUID column.
  std::uint64_t high = random_();
  std::uint64_t low = random_();
  high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 32; ++i) {
    std::uint64_t word = i < 16 ? high : low;
    int shift = 60 - 4 * (i % 16);
    id.push_back(kHex[(word >> shift) & 0xF]);
    if (i == 7 || i == 11 || i == 15 || i == 19) id.push_back('-');
  }
  return id;
}

}  // namespace nself::server
