#pragma once

// The token a WebSocket upgrade request offers (docs/PROTOCOL.md
// "Authentication"): "Authorization: Bearer X", else ?token=X. Shared by the
// protocol layers (RealtimeHandler, engine::EngineHandler).

#include <optional>
#include <string>
#include <string_view>

namespace nself::server {

std::optional<std::string> upgrade_token(std::string_view authorization, std::string_view target);

}  // namespace nself::server
