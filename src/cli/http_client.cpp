#include "cli/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace nself::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<HttpResponse> http_request(
    const std::string& host, int port, const std::string& method, const std::string& target,
    const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "nself-realtime-cli");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();

  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  bool done = false;
  beast::error_code failure;
  stream.expires_after(timeout);
  resolver.async_resolve(
      host, std::to_string(port),
      [&](beast::error_code error, const asio::ip::tcp::resolver::results_type& results) {
        if (error) return void(failure = error);
        stream.async_connect(results, [&](beast::error_code error, const auto&) {
          if (error) return void(failure = error);
          http::async_write(stream, request, [&](beast::error_code error, std::size_t) {
            if (error) return void(failure = error);
            http::async_read(stream, buffer, response, [&](beast::error_code error, std::size_t) {
              if (error) return void(failure = error);
              done = true;
            });
          });
        });
      });
  io.run_for(timeout + std::chrono::milliseconds(500));
  if (!done || failure) return std::nullopt;
  return HttpResponse{static_cast<int>(response.result_int()), std::move(response.body())};
}

std::string connect_host(const std::string& bind_host) {
  if (bind_host.empty() || bind_host == "0.0.0.0") return "127.0.0.1";
  if (bind_host == "::" || bind_host == "[::]") return "::1";
  return bind_host;
}

}  // namespace nself::cli
