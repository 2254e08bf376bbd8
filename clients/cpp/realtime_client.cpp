#include "cpp/realtime_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <deque>

namespace nself::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct RealtimeClient::Impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  std::deque<json::object> queue;
  std::optional<CloseInfo> closed;
  std::chrono::milliseconds timeout{5'000};
  std::uint64_t next_ref = 1;
  // Set by close(): the pending read then ends with operation_aborted and the
  // close operation's completion records how the connection closed.
  bool closing = false;

  // Keeps exactly one read pending until the connection closes; each frame
  // is parsed and queued (a batch frame as its elements).
  void start_read() {
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) { on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (!closing || ec == websocket::error::closed) mark_closed(ec);
      return;
    }
    std::string text = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    boost::system::error_code parse_ec;
    json::value value = json::parse(text, parse_ec);
    if (!parse_ec) {
      if (value.is_object()) {
        queue.push_back(std::move(value.as_object()));
      } else if (value.is_array()) {
        for (auto& element : value.as_array()) {
          if (element.is_object()) queue.push_back(std::move(element.as_object()));
        }
      }
    }
    start_read();
  }

  void mark_closed(beast::error_code ec) {
    if (closed) return;
    CloseInfo info;
    if (ec == websocket::error::closed) {
      info.code = ws.reason().code == websocket::close_code::none
                      ? std::uint16_t{1005}
                      : static_cast<std::uint16_t>(ws.reason().code);
      info.reason = std::string(ws.reason().reason.data(), ws.reason().reason.size());
    } else {
      info.code = 1006;
      info.reason = ec.message();
    }
    closed = info;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
  }

  // Runs the io_context until `done()` holds or `deadline` passes; returns done().
  template <class Done>
  bool run_until(Done done, Clock::time_point deadline) {
    while (!done()) {
      auto now = Clock::now();
      if (now >= deadline) return false;
      io.restart();
      if (io.run_one_until(deadline) == 0 && io.stopped() && !done()) {
        // No work left at all (nothing pending): waiting cannot help.
        return done();
      }
    }
    return true;
  }

  void write(const std::string& text) {
    if (closed) throw ClientError("closed", "the connection is closed");
    // The handler may outlive a timed-out call: its state is shared, not on the stack.
    struct State {
      bool done = false;
      beast::error_code result;
      std::string text;
    };
    auto state = std::make_shared<State>();
    state->text = text;
    ws.text(true);
    ws.async_write(asio::buffer(state->text), [state](beast::error_code ec, std::size_t) {
      state->result = ec;
      state->done = true;
    });
    if (!run_until([&] { return state->done; }, Clock::now() + timeout)) {
      beast::get_lowest_layer(ws).close();  // aborts the write; the read reports the close
      run_until([&] { return state->done; }, Clock::now() + std::chrono::seconds(1));
      throw ClientError("timeout", "write did not complete in time");
    }
    if (state->result) throw ClientError("closed", "write failed: " + state->result.message());
  }
};

RealtimeClient::RealtimeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RealtimeClient::RealtimeClient(RealtimeClient&&) noexcept = default;
RealtimeClient& RealtimeClient::operator=(RealtimeClient&&) noexcept = default;

RealtimeClient::~RealtimeClient() {
  if (!impl_) return;
  if (!impl_->closed) {
    impl_->timeout = std::chrono::milliseconds(1'000);
    try {
      close(1000);
    } catch (const std::exception&) {
      // Best effort: the socket is closed below either way.
    }
  }
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

RealtimeClient RealtimeClient::connect(const std::string& host, std::uint16_t port,
                                       ConnectOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->timeout = options.timeout;
  auto deadline = Clock::now() + options.timeout;

  asio::ip::tcp::resolver resolver(impl->io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw ClientError("connect", "resolving " + host + ": " + ec.message());

  auto& tcp = beast::get_lowest_layer(impl->ws);
  tcp.expires_at(deadline);
  bool done = false;
  tcp.async_connect(endpoints, [&](beast::error_code e, const asio::ip::tcp::endpoint&) {
    ec = e;
    done = true;
  });
  impl->run_until([&] { return done; }, deadline + std::chrono::seconds(1));
  if (ec == beast::error::timeout) throw ClientError("timeout", "connect timed out");
  if (!done || ec) throw ClientError("connect", "connecting to " + host + ": " + ec.message());

  if (options.token) {
    impl->ws.set_option(websocket::stream_base::decorator(
        [token = *options.token](websocket::request_type& request) {
          request.set(http::field::authorization, "Bearer " + token);
        }));
  }
  std::string target = options.query.empty() ? "/" : "/?" + options.query;
  websocket::response_type response;
  done = false;
  impl->ws.async_handshake(response, host + ":" + std::to_string(port), target,
                           [&](beast::error_code e) {
                             ec = e;
                             done = true;
                           });
  impl->run_until([&] { return done; }, deadline + std::chrono::seconds(1));
  if (ec == beast::error::timeout || !done) {
    throw ClientError("timeout", "WebSocket handshake timed out");
  }
  if (ec == websocket::error::upgrade_declined) {
    throw ClientError("http_" + std::to_string(response.result_int()),
                      "upgrade refused: " + response.body());
  }
  if (ec) throw ClientError("connect", "WebSocket handshake: " + ec.message());
  // From here the WebSocket layer owns the connection; timeouts are per call.
  tcp.expires_never();
  impl->start_read();
  return RealtimeClient(std::move(impl));
}

bool RealtimeClient::is_open() const {
  return !impl_->closed.has_value();
}

void RealtimeClient::send_json(const json::object& request) {
  impl_->write(json::serialize(request));
}

json::object RealtimeClient::request(json::object request, const std::string& reply_type) {
  auto ref_it = request.find("ref");
  if (ref_it == request.end() || ref_it->value().is_null()) {
    request["ref"] = "c" + std::to_string(impl_->next_ref++);
  }
  json::value ref = request.at("ref");
  send_json(request);

  auto& queue = impl_->queue;
  std::optional<json::object> reply;
  auto find_reply = [&] {
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      auto found = it->find("ref");
      if (found == it->end() || found->value() != ref) continue;
      auto type = it->find("type");
      if (type == it->end() || !type->value().is_string()) continue;
      if (type->value().as_string() != reply_type && type->value().as_string() != "error") continue;
      reply = std::move(*it);
      queue.erase(it);
      return true;
    }
    return impl_->closed.has_value();
  };
  impl_->run_until(find_reply, Clock::now() + impl_->timeout);
  if (!reply) {
    if (impl_->closed) throw ClientError("closed", "connection closed before the reply");
    throw ClientError("timeout", "no " + reply_type + " reply in time");
  }
  if (reply->at("type").as_string() == "error") {
    auto code = reply->find("code");
    auto message = reply->find("message");
    throw ClientError(code != reply->end() && code->value().is_string()
                          ? std::string(code->value().as_string())
                          : "error",
                      message != reply->end() && message->value().is_string()
                          ? std::string(message->value().as_string())
                          : json::serialize(*reply));
  }
  return std::move(*reply);
}

json::object RealtimeClient::auth(const std::string& token) {
  return request({{"type", "auth"}, {"token", token}}, "auth_ok");
}

json::object RealtimeClient::subscribe(const std::string& channel,
                                       std::optional<std::int64_t> history,
                                       std::optional<std::int64_t> since) {
  json::object request_object{{"type", "subscribe"}, {"channel", channel}};
  if (history) request_object["history"] = *history;
  if (since) request_object["since"] = *since;
  return request(std::move(request_object), "subscribed");
}

json::object RealtimeClient::send_message(const std::string& channel, const json::value& content,
                                          std::string ref) {
  json::object request_object{{"type", "message"}, {"channel", channel}, {"content", content}};
  if (!ref.empty()) request_object["ref"] = ref;
  return request(std::move(request_object), "ack");
}

std::optional<json::object> RealtimeClient::next_event(std::chrono::milliseconds timeout) {
  impl_->run_until([&] { return !impl_->queue.empty() || impl_->closed; }, Clock::now() + timeout);
  if (!impl_->queue.empty()) {
    json::object event = std::move(impl_->queue.front());
    impl_->queue.pop_front();
    return event;
  }
  if (impl_->closed) throw ClientError("closed", "the connection is closed");
  return std::nullopt;
}

json::object RealtimeClient::next_event_of_type(const std::string& type,
                                                std::chrono::milliseconds timeout) {
  auto& queue = impl_->queue;
  std::optional<json::object> event;
  auto find_event = [&] {
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      auto found = it->find("type");
      if (found == it->end() || !found->value().is_string() || found->value().as_string() != type) {
        continue;
      }
      event = std::move(*it);
      queue.erase(it);
      return true;
    }
    return impl_->closed.has_value();
  };
  impl_->run_until(find_event, Clock::now() + timeout);
  if (event) return std::move(*event);
  if (impl_->closed) throw ClientError("closed", "connection closed before a " + type + " event");
  throw ClientError("timeout", "no " + type + " event in time");
}

void RealtimeClient::close(std::uint16_t code) {
  if (impl_->closed) return;
  auto done = std::make_shared<bool>(false);  // may outlive a timed-out close
  impl_->closing = true;
  Impl* impl = impl_.get();
  impl->ws.async_close(websocket::close_reason(code), [done, impl](beast::error_code ec) {
    *done = true;
    impl->mark_closed(ec ? ec : beast::error_code(websocket::error::closed));
  });
  // The pending read ends once the server's close frame arrives.
  auto finished = [&] { return *done && impl->closed.has_value(); };
  if (!impl->run_until(finished, Clock::now() + impl->timeout)) {
    beast::get_lowest_layer(impl->ws).close();
    impl->run_until(finished, Clock::now() + std::chrono::seconds(1));
    if (!impl->closed) impl->closed = CloseInfo{1006, "close timed out"};
  }
}

std::optional<CloseInfo> RealtimeClient::wait_closed(std::chrono::milliseconds timeout) {
  impl_->run_until([&] { return impl_->closed.has_value(); }, Clock::now() + timeout);
  return impl_->closed;
}

}  // namespace nself::client
