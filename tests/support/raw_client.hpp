#pragma once

// A blocking WebSocket/HTTP test client built from core::ws and plain sockets,
// so tests control every byte (pipelining, bad frames, slow reading).

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws/frame_codec.hpp"

namespace nself::test {

struct HttpReply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
  // The value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

class RawClient {
 public:
  explicit RawClient(std::uint16_t port, int receive_buffer_bytes = 0);
  ~RawClient();

  void send_raw(std::string_view bytes);
  // Reads one HTTP response (headers, then Content-Length bytes of body).
  HttpReply read_http_reply();
  // GET `path` with Connection: close, returning the reply.
  HttpReply http_get(std::string_view path, std::string_view extra_headers = {});

  // The upgrade request for `path` (tests send it themselves to alter it).
  static std::string upgrade_request(std::string_view path = "/",
                                     std::string_view extra_headers = {});
  // Sends the upgrade and reads the reply; true on a correct 101.
  HttpReply handshake(std::string_view path = "/", std::string_view extra_headers = {});

  // A masked frame, as a client sends it.
  static std::string frame(core::ws::Opcode opcode, std::string_view payload, bool fin = true);
  void send_frame(core::ws::Opcode opcode, std::string_view payload, bool fin = true);
  void send_text(std::string_view text) { send_frame(core::ws::Opcode::kText, text); }
  void send_close(std::uint16_t code, std::string_view reason = {});

  // The next frame from the server, or none when the timeout passes or the
  // connection ends (then closed() is true).
  std::optional<core::ws::Event> next(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next event that is not a ping (pings are answered with a pong when
  // `answer_pings`).
  std::optional<core::ws::Event> next_non_ping(
      std::chrono::milliseconds timeout = std::chrono::seconds(5), bool answer_pings = true);
  // Waits for the server to close the TCP connection; true when it did in time.
  bool wait_eof(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool closed() const { return eof_; }

 private:
  bool read_more(std::chrono::milliseconds timeout);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string buffer_;  // received, not yet consumed (HTTP phase)
  core::ws::FrameDecoder decoder_;
  std::vector<core::ws::Event> events_;
  std::size_t next_event_ = 0;
  bool eof_ = false;
};

}  // namespace nself::test
