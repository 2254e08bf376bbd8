#include "core/history_page.hpp"

namespace nself::core {
namespace {

// {"id":"","seq":,"user_id":"","content":,"created_at":""} is 55 bytes; a seq
// has at most 20 digits, a timestamp 24 characters, plus the comma between
// two messages. Rounded up generously.
constexpr std::size_t kFixedMessageBytes = 128;
// The longest escape of one byte in a JSON string (\u00XX).
constexpr std::size_t kEscapeFactor = 6;

}  // namespace

std::size_t estimated_message_bytes(std::string_view id, std::string_view user_id,
                                    std::string_view content_json) {
  return kFixedMessageBytes + kEscapeFactor * (id.size() + user_id.size()) + content_json.size();
}

std::size_t page_length(std::span<const std::size_t> sizes, std::size_t budget, PageKeeps keeps) {
  std::size_t used = 0;
  std::size_t kept = 0;
  while (kept < sizes.size()) {
    const std::size_t next =
        keeps == PageKeeps::kOldest ? sizes[kept] : sizes[sizes.size() - 1 - kept];
    if (kept > 0 && (next > budget || used > budget - next)) break;
    used += next;
    ++kept;
  }
  return kept;
}

}  // namespace nself::core
