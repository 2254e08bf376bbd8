#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {

bool is_sendable_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // libraries (3xxx) and applications (4xxx)
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;  // 1012-1014: IANA-registered since RFC 6455
  return false;
}

}  // namespace nself::core::ws
