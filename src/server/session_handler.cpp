#include "server/session_handler.hpp"

#include "core/ws/frame_codec.hpp"
#include "server/ws_session.hpp"

namespace nself::server {

void SessionHandler::on_binary(WsSession& session, std::string /*data*/) {
  session.close(core::ws::close_code::kUnsupportedData, "binary messages are not supported");
}

void EchoHandler::on_open(WsSession& /*session*/) {}

void EchoHandler::on_text(WsSession& session, std::string text) {
  session.send_text(text);
}

void EchoHandler::on_binary(WsSession& session, std::string data) {
  session.send_frame(
      std::make_shared<const std::string>(core::ws::encode_frame(core::ws::Opcode::kBinary, data)));
}

void EchoHandler::on_closed(WsSession& /*session*/) {}

}  // namespace nself::server
