#include "worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/protocol/raw_json.hpp"
#include "core/ws/frame_codec.hpp"
#include "histogram.hpp"

namespace nself::bench {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
namespace ws = core::ws;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Lets sockets bound to a source address pick their port at connect(), per
// destination, instead of at bind() (Linux 4.2+; ignored where unknown).
constexpr int kIpBindAddressNoPort = 24;

// State shared by the threads of one worker process.
struct Shared {
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  std::atomic<bool> publishing{false};
  std::atomic<bool> churning{false};
  std::atomic<std::int64_t> window_start_ns{0};
  std::atomic<std::int64_t> window_end_ns{INT64_MAX};
};

// Counters of one io thread; only that thread touches them until it is joined.
struct ThreadStats {
  std::uint64_t deliveries = 0;            // message events received, in total
  std::uint64_t deliveries_in_window = 0;  // ... received during the measured phase
  std::uint64_t published = 0;
  std::uint64_t acks = 0;
  std::uint64_t acks_in_window = 0;
  std::uint64_t errors = 0;             // error events from the server
  std::uint64_t unexpected_closes = 0;  // connection lost outside churn
  std::uint64_t connects = 0;           // churn: upgraded and authenticated
  std::uint64_t disconnects = 0;        // churn: closed cleanly
  std::uint64_t connect_failures = 0;
  std::string first_error;
  Histogram latency;      // publish -> delivery, ns
  Histogram ack_latency;  // publish -> ack, ns
};

enum class Role { kIdle, kSubscriber, kPublisher, kChatSender, kPersist, kChurn };

class IoThread;

// One client connection: raw TCP, our own framing. Not thread-safe: it lives
// on its IoThread's io_context.
class Connection {
 public:
  Connection(IoThread& thread, const Options& options, int index, const std::string& token,
             Role role, std::string channel);
  void start();             // connect and upgrade (again, for churn)
  void start_publishing();  // kPublisher, kChatSender, kPersist
  bool open() const { return state_ == State::kOpen; }

 private:
  enum class State { kIdle, kConnecting, kHandshake, kOpen, kClosing, kClosed };

  void on_connected();
  void read();
  void on_bytes(std::string_view bytes);
  void on_event(const ws::Event& event);
  void on_frame_text(std::string_view text);   // the target's framing -> on_text
  void on_text(std::string_view text);         // one event in nself's JSON form
  void on_http_bytes(std::string_view bytes);  // nchan publisher: HTTP responses
  // Sends one request of nself's JSON form (`type` is its "type") in the
  // target's framing: as is, in a Socket.IO event, or as an nchan HTTP POST.
  void send_request(std::string_view type, std::string_view json);
  void became_ready();
  void fail(const std::string& why);
  void lost(const std::string& why);
  void restart_churn();
  void close_churn();  // churn: counts the connect and starts the close handshake
  void send_text(std::string_view payload);
  void send_frame(ws::Opcode opcode, std::string_view payload);
  void flush();
  void publish_one();
  void schedule_tick();
  void on_tick();

  IoThread& thread_;
  const Options& options_;
  int index_;
  const std::string& token_;
  Role role_;
  std::string channel_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  State state_ = State::kIdle;
  bool reported_ready_ = false;
  std::optional<ws::FrameDecoder> decoder_;
  std::string handshake_;
  std::array<char, 8192> read_buffer_{};
  std::string pending_;
  std::string writing_;
  bool write_in_flight_ = false;
  std::vector<ws::Event> events_;
  // nchan's publisher is a keep-alive HTTP connection, not a WebSocket.
  bool http_ = false;
  std::string http_in_;
  std::deque<std::string> http_refs_;  // the refs of POSTs not yet answered, in order
  // Publishing.
  int outstanding_ = 0;
  std::int64_t publish_start_ns_ = 0;
  std::uint64_t sent_since_start_ = 0;
};

class IoThread {
 public:
  IoThread(Shared& shared, int concurrency) : shared_(shared), concurrency_(concurrency) {}

  asio::io_context& io() { return io_; }
  ThreadStats& stats() { return stats_; }
  Shared& shared() { return shared_; }

  void add(std::unique_ptr<Connection> connection) {
    connections_.push_back(std::move(connection));
  }
  // Connects every connection, at most `concurrency_` handshakes at a time.
  void connect_all() {
    while (in_flight_ < concurrency_ && next_ < connections_.size()) {
      ++in_flight_;
      connections_[next_++]->start();
    }
  }
  // A handshake ended (ready or failed): start the next one.
  void handshake_done() {
    --in_flight_;
    connect_all();
  }
  void start_publishing() {
    for (auto& connection : connections_) connection->start_publishing();
  }
  void start_churn() {
    for (auto& connection : connections_) connection->start();
  }
  std::uint32_t random() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return static_cast<std::uint32_t>(rng_);
  }

 private:
  asio::io_context io_{1};
  Shared& shared_;
  int concurrency_;
  ThreadStats stats_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::size_t next_ = 0;
  int in_flight_ = 0;
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(this);
};

Connection::Connection(IoThread& thread, const Options& options, int index,
                       const std::string& token, Role role, std::string channel)
    : thread_(thread),
      options_(options),
      index_(index),
      token_(token),
      role_(role),
      channel_(std::move(channel)),
      socket_(thread.io()),
      timer_(thread.io()) {}

void Connection::start() {
  state_ = State::kConnecting;
  decoder_.emplace(ws::DecoderLimits{.max_message_bytes = 1 << 20, .expect_masked = false});
  handshake_.clear();
  pending_.clear();
  boost::system::error_code error;
  socket_.open(tcp::v4(), error);
  if (!error) {
    int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, kIpBindAddressNoPort, &one, sizeof one);
    // 127.0.0.1 .. 127.0.0.N spread the connections over N source addresses.
    const auto source = asio::ip::address_v4(
        (127u << 24) | static_cast<unsigned>(1 + index_ % options_.source_addresses));
    socket_.bind(tcp::endpoint(source, 0), error);
  }
  if (error) {
    fail("socket: " + error.message());
    return;
  }
  const tcp::endpoint server(asio::ip::make_address(options_.host), options_.port);
  socket_.async_connect(server, [this](boost::system::error_code ec) {
    if (ec) {
      fail("connect: " + ec.message());
      return;
    }
    on_connected();
  });
}

void Connection::on_connected() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  // nchan publishes over HTTP: the publisher's connection is ready at once.
  if (options_.target == Target::kNchan && role_ == Role::kPublisher) {
    http_ = true;
    http_in_.clear();
    http_refs_.clear();
    state_ = State::kOpen;
    read();
    became_ready();
    return;
  }
  state_ = State::kHandshake;
  std::string target = "/?token=" + token_ + (options_.batch ? "&batch=1" : "");
  if (options_.target == Target::kSocketIo) {
    target = "/socket.io/?EIO=4&transport=websocket&token=" + token_;
  } else if (options_.target == Target::kNchan) {
    // nchan subscribes on upgrade; idle and churn connections take a channel of their own kind.
    const std::string channel = !channel_.empty()                       ? channel_
                                : options_.scenario == Scenario::kChurn ? "bench-churn"
                                                                        : "bench-idle";
    target = "/sub/" + channel + "?token=" + token_;
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + options_.host + ":" +
                        std::to_string(options_.port) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n";
  pending_ += request;
  flush();
  read();
}

void Connection::read() {
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [this](boost::system::error_code ec, std::size_t size) {
                            // Closed by us meanwhile: already accounted for.
                            if (state_ == State::kIdle || state_ == State::kClosed) return;
                            if (ec) {
                              if (state_ == State::kClosing && role_ == Role::kChurn) {
                                boost::system::error_code ignored;
                                socket_.close(ignored);
                                state_ = State::kClosed;
                                ++thread_.stats().disconnects;
                                restart_churn();
                                return;
                              }
                              lost("read: " + ec.message());
                              return;
                            }
                            on_bytes(std::string_view(read_buffer_.data(), size));
                            if (state_ != State::kClosed && state_ != State::kIdle) read();
                          });
}

void Connection::on_bytes(std::string_view bytes) {
  if (http_) {
    on_http_bytes(bytes);
    return;
  }
  if (state_ == State::kHandshake) {
    handshake_.append(bytes);
    const auto end = handshake_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (handshake_.size() > 16384) fail("handshake: response too large");
      return;
    }
    if (handshake_.rfind("HTTP/1.1 101", 0) != 0) {
      const auto line_end = handshake_.find("\r\n");
      fail("upgrade refused: " + handshake_.substr(0, line_end));
      return;
    }
    state_ = State::kOpen;
    std::string rest = handshake_.substr(end + 4);
    handshake_.clear();
    handshake_.shrink_to_fit();
    // nchan has no auth event: the upgrade is the authentication (and the subscription).
    if (options_.target == Target::kNchan) {
      on_text(R"({"type":"auth_ok"})");
      if (state_ != State::kOpen && state_ != State::kClosing) return;
    }
    if (rest.empty()) return;
    on_bytes(rest);
    return;
  }
  if (state_ != State::kOpen && state_ != State::kClosing) return;
  events_.clear();
  const auto violation = decoder_->feed(bytes, events_);
  for (const auto& event : events_) {
    on_event(event);
    if (state_ == State::kClosed || state_ == State::kIdle) return;
  }
  if (violation) lost("protocol violation from the server: " + violation->reason);
}

void Connection::on_event(const ws::Event& event) {
  switch (event.kind) {
    case ws::Event::Kind::kText:
      on_frame_text(event.payload);
      break;
    case ws::Event::Kind::kPing:
      send_frame(ws::Opcode::kPong, event.payload);
      break;
    case ws::Event::Kind::kClose:
      if (state_ == State::kClosing && role_ == Role::kChurn) {
        boost::system::error_code ignored;
        socket_.close(ignored);
        state_ = State::kClosed;
        ++thread_.stats().disconnects;
        restart_churn();
        return;
      }
      lost("closed by the server with " + std::to_string(event.close_code) + " " + event.payload);
      break;
    default:
      break;
  }
}

// The number at the start of `text` (a JSON integer).
std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{}) return std::nullopt;
  return value;
}

// Socket.IO (engine.io v4 over WebSocket): "0{...}" opens the engine.io
// session, answered with "40" (join the default namespace); "2" is a ping,
// answered with "3"; "40{...}" confirms the namespace; "42[\"name\",{...}]"
// is an event whose argument is the JSON object of nself's form that the peer
// emits (bench/peers/socketio-server.mjs); "44" is a refused connect, "41" a
// disconnect.
void Connection::on_frame_text(std::string_view text) {
  if (options_.target != Target::kSocketIo) {
    if (!options_.batch) {
      on_text(text);
      return;
    }
    // Batch mode: one event per line.
    while (!text.empty()) {
      const std::size_t end = std::min(text.find('\n'), text.size());
      on_text(text.substr(0, end));
      text.remove_prefix(std::min(end + 1, text.size()));
    }
    return;
  }
  if (text.empty()) return;
  if (text[0] == '0') {
    send_text("40");
    return;
  }
  if (text[0] == '2') {
    send_text("3" + std::string(text.substr(1)));
    return;
  }
  if (text[0] != '4') return;  // pong, noop
  text.remove_prefix(1);
  if (text.starts_with("4")) {
    fail("socket.io connect refused: " + std::string(text.substr(0, 300)));
    return;
  }
  if (text.starts_with("1")) {
    lost("socket.io disconnect");
    return;
  }
  if (!text.starts_with("2[\"") || !text.ends_with("]")) return;
  const auto name_end = text.find("\",", 3);
  if (name_end == std::string_view::npos) return;
  on_text(text.substr(name_end + 2, text.size() - name_end - 3));
}

void Connection::send_request(std::string_view type, std::string_view json) {
  switch (options_.target) {
    case Target::kNself:
    case Target::kUws:
    case Target::kWs:
      send_text(json);
      return;
    case Target::kSocketIo:
      send_text("42[\"" + std::string(type) + "\"," + std::string(json) + "]");
      return;
    case Target::kNchan:
      if (type == "subscribe") {
        // The upgrade to /sub/<channel> subscribed already.
        on_text(R"({"type":"subscribed"})");
        return;
      }
      // The ref (the send time) comes back with the response, which nginx
      // sends in request order.
      if (const auto ref = core::protocol::detail::raw_member(json, "ref")) {
        http_refs_.emplace_back(*ref);
      }
      pending_ +=
          "POST /pub/" + channel_ + " HTTP/1.1\r\nHost: " + options_.host +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
          "\r\n\r\n";
      pending_ += json;
      flush();
      return;
  }
}

// nchan's answers to POST /pub/<channel>: 201 (delivered to subscribers) or
// 202 (queued, no subscriber) with a Content-Length body of channel
// information. Each one is the ack of the oldest unanswered POST.
void Connection::on_http_bytes(std::string_view bytes) {
  http_in_.append(bytes);
  std::size_t at = 0;
  while (true) {
    const auto head_end = http_in_.find("\r\n\r\n", at);
    if (head_end == std::string::npos) break;
    const std::string_view head(http_in_.data() + at, head_end - at);
    std::size_t body = 0;
    for (std::size_t line = head.find("\r\n"); line != std::string_view::npos;) {
      const auto next = head.find("\r\n", line + 2);
      const auto field =
          head.substr(line + 2, next == std::string_view::npos ? head.npos : next - line - 2);
      constexpr std::string_view kLength = "content-length:";
      if (field.size() > kLength.size()) {
        bool match = true;
        for (std::size_t i = 0; i < kLength.size() && match; ++i) {
          match = std::tolower(static_cast<unsigned char>(field[i])) == kLength[i];
        }
        if (match) {
          auto value = field.substr(kLength.size());
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          std::from_chars(value.data(), value.data() + value.size(), body);
        }
      }
      line = next;
    }
    if (http_in_.size() < head_end + 4 + body) break;
    const bool ok = head.starts_with("HTTP/1.1 201") || head.starts_with("HTTP/1.1 202");
    const std::string status(head.substr(0, head.find("\r\n")));
    at = head_end + 4 + body;
    std::string ref = "0";
    if (!http_refs_.empty()) {
      ref = std::move(http_refs_.front());
      http_refs_.pop_front();
    }
    if (ok) {
      on_text(R"({"type":"ack","ref":)" + ref + "}");
    } else {
      on_text(R"({"type":"error","message":")" + status + R"("})");
    }
    if (state_ != State::kOpen) return;
  }
  http_in_.erase(0, at);
}

void Connection::on_text(std::string_view text) {
  auto& stats = thread_.stats();
  auto& shared = thread_.shared();
  if (text.starts_with(R"({"type":"message")")) {
    const std::int64_t now = now_ns();
    ++stats.deliveries;
    if (now >= shared.window_start_ns && now <= shared.window_end_ns) ++stats.deliveries_in_window;
    const auto content = core::protocol::detail::raw_member(text, "content");
    if (content) {
      if (const auto sent = parse_integer(*content); sent && *sent <= now) {
        stats.latency.record(static_cast<std::uint64_t>(now - *sent));
      }
    }
    return;
  }
  if (text.starts_with(R"({"type":"ack")")) {
    const std::int64_t now = now_ns();
    ++stats.acks;
    if (now >= shared.window_start_ns && now <= shared.window_end_ns) ++stats.acks_in_window;
    if (const auto ref = core::protocol::detail::raw_member(text, "ref")) {
      if (const auto sent = parse_integer(*ref); sent && *sent <= now) {
        stats.ack_latency.record(static_cast<std::uint64_t>(now - *sent));
      }
    }
    --outstanding_;
    if (options_.rate <= 0 && shared.publishing) {
      while (outstanding_ < options_.window) publish_one();
    }
    return;
  }
  if (text.starts_with(R"({"type":"auth_ok")")) {
    if (role_ == Role::kChurn && (channel_.empty() || options_.target == Target::kNchan)) {
      close_churn();
      return;
    }
    if (channel_.empty() || role_ == Role::kPersist || role_ == Role::kPublisher) {
      became_ready();
    } else {
      send_request("subscribe",
                   R"({"type":"subscribe","channel":")" + channel_ + R"(","ref":"s"})");
    }
    return;
  }
  if (text.starts_with(R"({"type":"subscribed")")) {
    if (role_ == Role::kChurn) {
      close_churn();
      return;
    }
    became_ready();
    return;
  }
  if (text.starts_with(R"({"type":"error")")) {
    ++stats.errors;
    if (stats.first_error.empty()) stats.first_error = std::string(text.substr(0, 300));
    if (!reported_ready_) fail("error before ready: " + std::string(text.substr(0, 300)));
    return;
  }
}

void Connection::close_churn() {
  ++thread_.stats().connects;
  state_ = State::kClosing;
  std::string payload;
  payload.push_back(static_cast<char>(ws::close_code::kNormal >> 8));
  payload.push_back(static_cast<char>(ws::close_code::kNormal & 0xFF));
  send_frame(ws::Opcode::kClose, payload);
}

void Connection::became_ready() {
  if (reported_ready_) return;
  reported_ready_ = true;
  thread_.shared().ready.fetch_add(1);
  thread_.handshake_done();
}

void Connection::fail(const std::string& why) {
  auto& stats = thread_.stats();
  ++stats.connect_failures;
  if (stats.first_error.empty()) stats.first_error = why;
  boost::system::error_code ignored;
  socket_.close(ignored);
  state_ = State::kIdle;
  if (role_ == Role::kChurn) {
    restart_churn();  // keep the loop going; the failure is counted
    return;
  }
  if (!reported_ready_) {
    reported_ready_ = true;
    thread_.shared().failed.fetch_add(1);
    thread_.handshake_done();
  }
}

void Connection::lost(const std::string& why) {
  if (!reported_ready_ || state_ == State::kHandshake || state_ == State::kConnecting) {
    fail(why);
    return;
  }
  auto& stats = thread_.stats();
  ++stats.unexpected_closes;
  if (stats.first_error.empty()) stats.first_error = why;
  boost::system::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  state_ = State::kClosed;
  if (role_ == Role::kChurn) restart_churn();
}

// Posted, never called inline: the caller may still be inside a completion
// handler of the old socket.
void Connection::restart_churn() {
  if (!thread_.shared().churning) return;
  asio::post(thread_.io(), [this] {
    if (thread_.shared().churning) start();
  });
}

void Connection::send_text(std::string_view payload) {
  send_frame(ws::Opcode::kText, payload);
}

void Connection::send_frame(ws::Opcode opcode, std::string_view payload) {
  const std::uint32_t r = thread_.random();
  const std::array<std::uint8_t, 4> mask{
      static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(r >> 8),
      static_cast<std::uint8_t>(r >> 16), static_cast<std::uint8_t>(r >> 24)};
  ws::append_masked_frame(pending_, opcode, payload, mask);
  flush();
}

void Connection::flush() {
  if (write_in_flight_ || pending_.empty() || !socket_.is_open()) return;
  writing_.swap(pending_);
  pending_.clear();
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [this](boost::system::error_code ec, std::size_t) {
                      write_in_flight_ = false;
                      writing_.clear();
                      if (ec) return;  // the read side reports the loss
                      flush();
                    });
}

void Connection::publish_one() {
  const std::int64_t now = now_ns();
  // The content and the ref are the send time: the receiver and the ack
  // both carry it back.
  const std::string stamp = std::to_string(now);
  send_request("message", R"({"type":"message","channel":")" + channel_ + R"(","content":)" +
                              stamp + R"(,"ref":)" + stamp + "}");
  ++outstanding_;
  ++sent_since_start_;
  ++thread_.stats().published;
}

void Connection::start_publishing() {
  if (role_ != Role::kPublisher && role_ != Role::kChatSender && role_ != Role::kPersist) return;
  if (!open()) return;
  publish_start_ns_ = now_ns();
  sent_since_start_ = 0;
  if (options_.rate <= 0) {
    while (outstanding_ < options_.window) publish_one();
    return;
  }
  // Spread the senders' first messages over one period.
  const double period_ns = 1e9 / options_.rate;
  publish_start_ns_ += static_cast<std::int64_t>(period_ns * (thread_.random() % 1000) / 1000.0);
  schedule_tick();
}

void Connection::schedule_tick() {
  const double period_ns = 1e9 / options_.rate;
  const auto due = publish_start_ns_ +
                   static_cast<std::int64_t>(period_ns * static_cast<double>(sent_since_start_));
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_tick();
  });
}

void Connection::on_tick() {
  if (!thread_.shared().publishing || !open()) return;
  // Send what is due by now (at most 1000 at once when the thread fell behind).
  const double elapsed_s = static_cast<double>(now_ns() - publish_start_ns_) / 1e9;
  const auto due = static_cast<std::uint64_t>(std::floor(elapsed_s * options_.rate)) + 1;
  int burst = 0;
  while (sent_since_start_ < due && burst++ < 1000) publish_one();
  schedule_tick();
}

// ---- reporting

// User + system CPU time of this process so far.
double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

boost::json::object histogram_json(const Histogram& histogram) {
  boost::json::array buckets;
  for (const auto& [index, count] : histogram.nonzero_buckets()) {
    buckets.push_back(boost::json::array{index, count});
  }
  return {{"buckets", std::move(buckets)}, {"min", histogram.min()}, {"max", histogram.max()}};
}

void write_line(int fd, const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t written = ::write(fd, rest.data(), rest.size());
    if (written <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

Role role_of(const Options& options, int index, std::string& channel) {
  switch (options.scenario) {
    case Scenario::kIdle:
      return Role::kIdle;
    case Scenario::kFanout:
      channel = "bench-fanout";
      return index == options.connections ? Role::kPublisher : Role::kSubscriber;
    case Scenario::kChat: {
      const int per_channel = options.subscribers;
      channel = "bench-chat-" + std::to_string(index / per_channel);
      const auto senders =
          static_cast<int>(std::lround(options.sender_fraction * static_cast<double>(per_channel)));
      return index % per_channel < senders ? Role::kChatSender : Role::kSubscriber;
    }
    case Scenario::kChurn:
      if (options.churn_subscribe) channel = "bench-churn";
      return Role::kChurn;
    case Scenario::kPersist:
      channel = "bench-persist";
      return Role::kPersist;
  }
  return Role::kIdle;
}

}  // namespace

int run_worker(const WorkerPlan& plan, int report_fd, int control_fd) {
  const Options& options = plan.options;
  Shared shared;
  const int threads = std::max(1, options.threads);
  std::vector<std::unique_ptr<IoThread>> io_threads;
  for (int t = 0; t < threads; ++t) {
    io_threads.push_back(
        std::make_unique<IoThread>(shared, std::max(1, options.connect_concurrency / threads)));
  }
  // The publisher of fanout (the last index) always lives in process 0.
  const int total = options.total_connections();
  int mine = 0;
  for (int i = 0; i < total; ++i) {
    const bool is_fanout_publisher =
        options.scenario == Scenario::kFanout && i == options.connections;
    const int owner = is_fanout_publisher ? 0 : i % plan.processes;
    if (owner != plan.process_index) continue;
    std::string channel;
    const Role role = role_of(options, i, channel);
    auto& thread = *io_threads[static_cast<std::size_t>(mine % threads)];
    thread.add(std::make_unique<Connection>(
        thread, options, i, plan.tokens[static_cast<std::size_t>(i)], role, std::move(channel)));
    ++mine;
  }

  std::vector<std::thread> runners;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& thread : io_threads) {
    guards.push_back(asio::make_work_guard(thread->io()));
    if (options.scenario != Scenario::kChurn) {
      asio::post(thread->io(), [&t = *thread] { t.connect_all(); });
    }
    runners.emplace_back([&t = *thread] { t.io().run(); });
  }

  // Connect phase.
  const auto connect_deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<long>(options.connect_timeout * 1000));
  if (options.scenario != Scenario::kChurn) {
    while (shared.ready + shared.failed < mine &&
           std::chrono::steady_clock::now() < connect_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  const int ready = options.scenario == Scenario::kChurn ? mine : shared.ready.load();
  write_line(report_fd,
             "ready " +
                 boost::json::serialize(boost::json::object{
                     {"connections", mine}, {"ready", ready}, {"failed", mine - ready}}) +
                 "\n");

  // Measured phase.
  if (read_line(control_fd) != "go") std::_Exit(1);
  const double cpu_at_go = process_cpu_seconds();
  const std::int64_t start = now_ns();
  const auto duration_ns = static_cast<std::int64_t>(options.duration * 1e9);
  shared.window_start_ns = start;
  shared.window_end_ns = start + duration_ns;
  if (options.scenario == Scenario::kChurn) {
    shared.churning = true;
    for (auto& thread : io_threads) asio::post(thread->io(), [&t = *thread] { t.start_churn(); });
  } else {
    shared.publishing = true;
    for (auto& thread : io_threads) {
      asio::post(thread->io(), [&t = *thread] { t.start_publishing(); });
    }
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(duration_ns));
  shared.publishing = false;
  shared.churning = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(options.drain * 1000)));
  for (auto& thread : io_threads) thread->io().stop();
  for (auto& runner : runners) runner.join();

  ThreadStats total_stats;
  for (auto& thread : io_threads) {
    const auto& s = thread->stats();
    total_stats.deliveries += s.deliveries;
    total_stats.deliveries_in_window += s.deliveries_in_window;
    total_stats.published += s.published;
    total_stats.acks += s.acks;
    total_stats.acks_in_window += s.acks_in_window;
    total_stats.errors += s.errors;
    total_stats.unexpected_closes += s.unexpected_closes;
    total_stats.connects += s.connects;
    total_stats.disconnects += s.disconnects;
    total_stats.connect_failures += s.connect_failures;
    if (total_stats.first_error.empty()) total_stats.first_error = s.first_error;
    total_stats.latency.merge(s.latency);
    total_stats.ack_latency.merge(s.ack_latency);
  }
  boost::json::object result{
      {"deliveries", total_stats.deliveries},
      {"deliveries_in_window", total_stats.deliveries_in_window},
      {"published", total_stats.published},
      {"acks", total_stats.acks},
      {"acks_in_window", total_stats.acks_in_window},
      {"errors", total_stats.errors},
      {"unexpected_closes", total_stats.unexpected_closes},
      {"connects", total_stats.connects},
      {"disconnects", total_stats.disconnects},
      {"connect_failures", total_stats.connect_failures},
      {"first_error", total_stats.first_error},
      {"latency", histogram_json(total_stats.latency)},
      {"ack_latency", histogram_json(total_stats.ack_latency)},
      {"cpu_seconds", process_cpu_seconds() - cpu_at_go},
  };
  write_line(report_fd, "result " + boost::json::serialize(result) + "\n");
  return 0;
}

}  // namespace nself::bench
