#include "server/ws_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "server/loop.hpp"

namespace nself::server {

namespace asio = boost::asio;
namespace ws = core::ws;
using boost::system::error_code;

namespace {

// Reads per readiness notification before yielding to other sessions.
constexpr int kReadsPerWakeup = 4;

// What a queue entry costs beyond its frame's bytes (see WsSession::cost).
constexpr std::size_t kQueueEntryOverhead = 64;

constexpr char kBatchSeparator[] = "\n";

bool is_text_frame(const std::string& frame) {
  return frame.size() >= 2 && static_cast<std::uint8_t>(frame[0]) == 0x81;  // FIN + text
}

}  // namespace

WsSession::WsSession(Loop& loop, Transport transport, SessionInfo info, UpgradeRequest upgrade,
                     ClientLimits::Lease lease)
    : loop_(loop),
      transport_(std::move(transport)),
      info_(std::move(info)),
      lease_(std::move(lease)),
      decoder_(ws::DecoderLimits{loop.options().max_message_bytes, true}),
      upgrade_(std::make_unique<UpgradeRequest>(std::move(upgrade))) {
  auto now = std::chrono::steady_clock::now();
  last_received_ = now.time_since_epoch().count();
  last_ping_sent_ = now;
}

void WsSession::start(std::string handshake_response, std::string leftover) {
  error_code ignored;
  transport_.socket().non_blocking(true, ignored);
  transport_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  enqueue(std::make_shared<const std::string>(std::move(handshake_response)), true);
  loop_.handler().on_open(*this);
  upgrade_.reset();
  if (!leftover.empty()) process(leftover);
  if (state_ != State::kClosed) wait_readable();
}

void WsSession::send_text(std::string_view text) {
  if (close_sent_ || state_ == State::kClosed) return;
  enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, text)), false,
          true);
}

void WsSession::send_frame(std::shared_ptr<const std::string> frame) {
  if (close_sent_ || state_ == State::kClosed) return;
  const bool event = is_text_frame(*frame);
  enqueue(std::move(frame), false, event);
}

const UpgradeRequest& WsSession::upgrade() const {
  static const UpgradeRequest kNone;
  return upgrade_ ? *upgrade_ : kNone;
}

std::size_t WsSession::cost(const Queued& queued) {
  return queued.bytes->size() + kQueueEntryOverhead;
}

void WsSession::enqueue(std::shared_ptr<const std::string> frame, bool bypass_limit, bool event) {
  Queued queued{std::move(frame), event};
  const std::size_t bytes = cost(queued);
  queued_bytes_ += bytes;
  loop_.add_queued(bytes);
  pending_.push_back(std::move(queued));
  if (event) ++pending_events_;
  const ServerOptions& options = loop_.options();
  if (!bypass_limit &&
      (queued_bytes_ > options.max_queued_bytes ||
       (queued_bytes_ > options.slow_consumer_floor && loop_.over_queue_budget()))) {
    // Slow consumer: drop what has not started to be written, then close.
    const std::size_t queued_before = queued_bytes_;
    release(pending_);
    pending_events_ = 0;
    spdlog::warn(
        "connection {} ({}): slow consumer, {} bytes queued{}; closing", info_.id,
        info_.remote_address, queued_before,
        queued_before > options.max_queued_bytes ? "" : " while the server's queues are full");
    loop_.handler().on_slow_consumer(*this);
    close(ws::close_code::kPolicyViolation, "slow consumer");
    return;
  }
  schedule_flush();
}

void WsSession::release(std::vector<Queued>& frames) {
  std::size_t bytes = 0;
  for (const auto& queued : frames) bytes += cost(queued);
  queued_bytes_ -= bytes;
  loop_.remove_queued(bytes);
  frames.clear();
}

void WsSession::schedule_flush() {
  if (writing_ || flush_posted_ || state_ == State::kClosed) return;
  const ServerOptions& options = loop_.options();
  if (batching_ && options.batch_delay.count() > 0 && pending_events_ < options.batch_size &&
      pending_events_ == pending_.size() && !close_sent_) {
    // Batch mode with a delay: wait (in the loop's one timer) for more events.
    if (!flush_delayed_) {
      flush_delayed_ = true;
      loop_.flush_later(shared_from_this());
    }
    return;
  }
  flush_posted_ = true;
  // Posted, not run now: everything queued in this loop turn joins this write.
  asio::post(transport_.socket().get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void WsSession::flush_delayed() {
  flush_delayed_ = false;
  flush();
}

void WsSession::flush() {
  if (writing_ || pending_.empty() || state_ == State::kClosed) return;
  if (!in_flight_) in_flight_ = std::make_unique<InFlight>();
  in_flight_->frames.swap(pending_);
  pending_events_ = 0;
  auto& buffers = in_flight_->buffers;
  buffers.clear();
  buffers.reserve(in_flight_->frames.size());
  if (batching_) {
    gather_batches();
  } else {
    for (const auto& queued : in_flight_->frames) {
      buffers.emplace_back(queued.bytes->data(), queued.bytes->size());
    }
  }
  close_in_flight_ = close_sent_ && !close_written_;
  writing_ = true;
  auto on_written = [self = shared_from_this()](const error_code& error, std::size_t) {
    self->on_written(error);
  };
  if (Transport::TlsStream* tls = transport_.tls()) {
    // One piece: asio's TLS stream writes one buffer of a sequence per record.
    std::string& gathered = in_flight_->gathered;
    gathered.clear();
    gathered.reserve(asio::buffer_size(buffers));
    for (const auto& buffer : buffers) {
      gathered.append(static_cast<const char*>(buffer.data()), buffer.size());
    }
    asio::async_write(*tls, asio::buffer(gathered), std::move(on_written));
    return;
  }
  asio::async_write(transport_.socket(), buffers, std::move(on_written));
}

void WsSession::gather_batches() {
  const std::size_t limit = std::max<std::size_t>(loop_.options().batch_size, 1);
  const std::vector<Queued>& frames = in_flight_->frames;
  auto& buffers = in_flight_->buffers;
  auto& headers = in_flight_->batch_headers;
  headers.clear();
  // Never reallocated below: buffers point into these strings.
  headers.reserve(frames.size());
  std::size_t index = 0;
  while (index < frames.size()) {
    std::size_t end = index;
    std::size_t payload = 0;
    while (end < frames.size() && frames[end].event && end - index < limit) {
      const std::string& frame = *frames[end].bytes;
      payload += frame.size() - ws::unmasked_header_size(frame);
      ++end;
    }
    if (end - index <= 1) {  // a lone event or a control frame: as it is
      const std::string& frame = *frames[index].bytes;
      buffers.emplace_back(frame.data(), frame.size());
      ++index;
      continue;
    }
    payload += end - index - 1;  // the separators
    headers.emplace_back();
    ws::append_frame_header(headers.back(), ws::Opcode::kText, payload);
    buffers.emplace_back(headers.back().data(), headers.back().size());
    for (std::size_t at = index; at < end; ++at) {
      const std::string& frame = *frames[at].bytes;
      const std::size_t header = ws::unmasked_header_size(frame);
      if (at > index) buffers.emplace_back(kBatchSeparator, 1);
      buffers.emplace_back(frame.data() + header, frame.size() - header);
    }
    index = end;
  }
}

void WsSession::on_written(const error_code& error) {
  writing_ = false;
  release(in_flight_->frames);
  if (pending_.empty()) {
    // Nothing more to write: an idle connection keeps no write buffers.
    in_flight_.reset();
    std::vector<Queued>().swap(pending_);
  } else {
    in_flight_->batch_headers.clear();
    in_flight_->gathered.clear();
  }
  if (state_ == State::kClosed) return;
  if (error) {
    spdlog::debug("connection {}: write failed: {}", info_.id, error.message());
    finish();
    return;
  }
  if (close_in_flight_) {
    close_in_flight_ = false;
    close_written_ = true;
    after_close_written();
    return;
  }
  flush();
}

void WsSession::close(std::uint16_t code, std::string_view reason) {
  if (close_sent_ || state_ == State::kClosed) return;
  close_sent_ = true;
  state_ = State::kClosing;
  close_deadline_ = std::chrono::steady_clock::now() + loop_.options().close_timeout;
  enqueue(std::make_shared<const std::string>(ws::encode_close(code, reason)), true);
}

void WsSession::after_close_written() {
  if (peer_close_received_) {
    finish();
    return;
  }
  // Half-close: the peer reads our close and EOF; we read until its close or
  // EOF so that unread input does not turn our close into a reset.
  // Under TLS this is a TCP half-close without close_notify (a TLS shutdown
  // would have to write while the read is in flight); the WebSocket close
  // handshake already marks the end of the data.
  error_code ignored;
  transport_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void WsSession::abort() {
  finish();
}

void WsSession::finish() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  transport_.close();
  lease_.release();
  release(pending_);
  pending_events_ = 0;
  loop_.session_finished(*this);
}

void WsSession::wait_readable() {
  if (transport_.is_tls()) return read_tls();
  if (reading_ || state_ == State::kClosed) return;
  reading_ = true;
  transport_.socket().async_wait(asio::ip::tcp::socket::wait_read,
                                 [self = shared_from_this()](const error_code& error) {
                                   self->reading_ = false;
                                   self->on_readable(error);
                                 });
}

void WsSession::on_readable(const error_code& error) {
  if (state_ == State::kClosed) return;
  if (error) {
    finish();
    return;
  }
  std::span<char> buffer = loop_.read_buffer();
  for (int attempt = 0; attempt < kReadsPerWakeup; ++attempt) {
    error_code read_error;
    std::size_t n =
        transport_.socket().read_some(asio::buffer(buffer.data(), buffer.size()), read_error);
    if (read_error == asio::error::would_block || read_error == asio::error::try_again) break;
    if (read_error) {
      // EOF or reset: the peer is gone (after a close handshake this is normal).
      finish();
      return;
    }
    process(std::string_view(buffer.data(), n));
    if (state_ == State::kClosed) return;
    if (n < buffer.size()) break;
  }
  wait_readable();
}

void WsSession::read_tls() {
  if (reading_ || state_ == State::kClosed) return;
  reading_ = true;
  if (!tls_read_buffer_) tls_read_buffer_ = std::make_unique<std::array<char, 8192>>();
  transport_.tls()->async_read_some(
      asio::buffer(*tls_read_buffer_),
      [self = shared_from_this()](const error_code& error, std::size_t n) {
        self->reading_ = false;
        if (self->state_ == State::kClosed) return;
        if (error) {
          // EOF, reset, or a TLS alert / bad record from the peer.
          self->finish();
          return;
        }
        self->process(std::string_view(self->tls_read_buffer_->data(), n));
        if (self->state_ != State::kClosed) self->read_tls();
      });
}

void WsSession::process(std::string_view bytes) {
  last_received_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  if (decoder_failed_) return;  // waiting for EOF after a protocol violation
  // The loop's scratch vector: nothing in handle() reads another session.
  std::vector<ws::Event>& events = loop_.event_scratch();
  events.clear();
  std::optional<ws::Violation> violation = decoder_.feed(bytes, events);
  for (auto& event : events) {
    handle(event);
    if (state_ == State::kClosed) return;
  }
  if (violation) {
    decoder_failed_ = true;
    spdlog::debug("connection {}: protocol violation {}: {}", info_.id, violation->close_code,
                  violation->reason);
    close(violation->close_code, violation->reason);
  }
  if (!decoder_.mid_message()) decoder_.shrink_to_fit();
}

void WsSession::handle(ws::Event& event) {
  using Kind = ws::Event::Kind;
  switch (event.kind) {
    case Kind::kText:
      ++messages_received_;
      if (state_ == State::kOpen) loop_.handler().on_text(*this, std::move(event.payload));
      break;
    case Kind::kBinary:
      ++messages_received_;
      if (state_ == State::kOpen) loop_.handler().on_binary(*this, std::move(event.payload));
      break;
    case Kind::kPing:
      // Pongs count against the queue bound: a client that floods pings and
      // never reads its pongs is a slow consumer, not unbounded memory.
      if (!close_sent_) {
        enqueue(
            std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kPong, event.payload)),
            false);
      }
      break;
    case Kind::kPong:
      break;  // last_received_ is already updated
    case Kind::kClose:
      peer_close_received_ = true;
      if (!close_sent_) {
        // Echo the peer's code (RFC 6455 5.5.1); an empty close is echoed empty.
        close_sent_ = true;
        state_ = State::kClosing;
        close_deadline_ = std::chrono::steady_clock::now() + loop_.options().close_timeout;
        std::string frame = event.close_code == ws::close_code::kNoStatus
                                ? ws::encode_frame(ws::Opcode::kClose, {})
                                : ws::encode_close(event.close_code, {});
        enqueue(std::make_shared<const std::string>(std::move(frame)), true);
      } else if (close_written_) {
        finish();
      }
      break;
  }
}

void WsSession::on_tick(SteadyTime now) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kClosing) {
    if (now >= close_deadline_) finish();
    return;
  }
  const ServerOptions& options = loop_.options();
  if (now - last_received() >= options.idle_timeout) {
    spdlog::debug(
        "connection {}: idle for {} ms; closing", info_.id,
        std::chrono::duration_cast<std::chrono::milliseconds>(now - last_received()).count());
    close(ws::close_code::kGoingAway, "idle timeout");
    return;
  }
  if (now - last_ping_sent_ >= options.ping_interval) {
    last_ping_sent_ = now;
    enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kPing, {})), true);
  }
}

}  // namespace nself::server
