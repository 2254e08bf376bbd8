#include "support/raw_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <stdexcept>

namespace nself::test {

namespace asio = boost::asio;
namespace ws = core::ws;

std::string HttpReply::header(std::string_view name) const {
  std::string_view rest = head;
  while (true) {
    auto eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return {};
    rest.remove_prefix(eol + 2);
    auto line_end = rest.find("\r\n");
    std::string_view line = rest.substr(0, line_end);
    auto colon = line.find(':');
    if (colon != std::string_view::npos && boost::beast::iequals(line.substr(0, colon), name)) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
  }
}

RawClient::RawClient(std::uint16_t port, int receive_buffer_bytes)
    : socket_(io_), decoder_(ws::DecoderLimits{64 * 1024 * 1024, false}) {
  socket_.open(asio::ip::tcp::v4());
  if (receive_buffer_bytes > 0) {
    socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  socket_.connect({asio::ip::make_address("127.0.0.1"), port});
}

RawClient::~RawClient() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void RawClient::send_raw(std::string_view bytes) {
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()));
}

bool RawClient::read_more(std::chrono::milliseconds timeout) {
  if (eof_) return false;
  pollfd fd{socket_.native_handle(), POLLIN, 0};
  int ready = ::poll(&fd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return false;
  std::array<char, 65536> chunk;
  boost::system::error_code error;
  std::size_t n = socket_.read_some(asio::buffer(chunk), error);
  if (error) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk.data(), n);
  return true;
}

HttpReply RawClient::read_http_reply() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || !read_more(std::chrono::seconds(5))) {
      throw std::runtime_error("no complete HTTP reply; got: " + buffer_);
    }
  }
  HttpReply reply;
  reply.head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  reply.status = std::stoi(reply.head.substr(9, 3));
  std::string length = reply.header("Content-Length");
  std::size_t body_size = length.empty() ? 0 : std::stoul(length);
  while (buffer_.size() < body_size) {
    if (!read_more(std::chrono::seconds(5))) throw std::runtime_error("HTTP body cut short");
  }
  reply.body = buffer_.substr(0, body_size);
  buffer_.erase(0, body_size);
  return reply;
}

HttpReply RawClient::http_get(std::string_view path, std::string_view extra_headers) {
  std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" +
                        std::string(extra_headers) + "Connection: close\r\n\r\n";
  send_raw(request);
  return read_http_reply();
}

std::string RawClient::upgrade_request(std::string_view path, std::string_view extra_headers) {
  return "GET " + std::string(path) +
         " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         std::string(extra_headers) + "\r\n";
}

HttpReply RawClient::handshake(std::string_view path, std::string_view extra_headers) {
  send_raw(upgrade_request(path, extra_headers));
  return read_http_reply();
}

std::string RawClient::frame(ws::Opcode opcode, std::string_view payload, bool fin) {
  std::string out;
  ws::append_masked_frame(out, opcode, payload, {0x12, 0x34, 0x56, 0x78}, fin);
  return out;
}

void RawClient::send_frame(ws::Opcode opcode, std::string_view payload, bool fin) {
  send_raw(frame(opcode, payload, fin));
}

void RawClient::send_close(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload += reason;
  send_frame(ws::Opcode::kClose, payload);
}

std::optional<ws::Event> RawClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (next_event_ < events_.size()) return std::move(events_[next_event_++]);
    events_.clear();
    next_event_ = 0;
    if (!buffer_.empty()) {
      auto violation = decoder_.feed(buffer_, events_);
      buffer_.clear();
      if (violation) throw std::runtime_error("server sent a bad frame: " + violation->reason);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    if (!read_more(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)) && eof_) {
      return std::nullopt;
    }
  }
}

std::optional<ws::Event> RawClient::next_non_ping(std::chrono::milliseconds timeout,
                                                  bool answer_pings) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto event = next(left);
    if (!event || event->kind != ws::Event::Kind::kPing) return event;
    if (answer_pings) send_frame(ws::Opcode::kPong, event->payload);
  }
}

bool RawClient::wait_eof(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    read_more(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    buffer_.clear();
  }
  return true;
}

}  // namespace nself::test
