#pragma once

// Pages of a `history` reply (a `history` request, or a subscribe's
// `history` / `since` replay): the messages one reply may carry so that it
// stays under a byte budget (docs/PROTOCOL.md "history"; docs/SECURITY.md).
// A reply bigger than a connection's send-queue bound
// (REALTIME_MAX_QUEUED_KB) would close the client that asked with 1008, so
// a reply is cut to the budget and says `has_more`; the client asks for the
// next page. Pure functions.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace nself::core {

// Which end of a run of messages (oldest first) a cut page keeps.
enum class PageKeeps {
  kNewest,  // `history`, subscribe `history`: the oldest are dropped (older remain)
  kOldest,  // subscribe `since`, `history` `after`: the newest are dropped (newer remain)
};

// A bound on the bytes one message adds to a history event: its content (raw
// JSON, written as stored), its id and user_id as JSON strings (counted as if
// every byte were escaped), and a fixed allowance for the keys, the seq, the
// timestamp and the separators.
std::size_t estimated_message_bytes(std::string_view id, std::string_view user_id,
                                    std::string_view content_json);

// How many of the messages whose estimates are `sizes` (oldest first) one
// page keeps: the longest run from the `keeps` end whose sizes add up to at
// most `budget`, and never fewer than one (a single message larger than the
// budget is still sent, alone). 0 only when `sizes` is empty.
std::size_t page_length(std::span<const std::size_t> sizes, std::size_t budget, PageKeeps keeps);

// Cuts `messages` (oldest first, as the store returns them) to one page of
// `budget` bytes, keeping the `keeps` end; `estimate(message)` gives a
// message's estimated_message_bytes. True when some were dropped: the reply
// then says has_more.
template <class Message, class Estimate>
bool cut_to_page(std::vector<Message>& messages, std::size_t budget, PageKeeps keeps,
                 Estimate estimate) {
  std::vector<std::size_t> sizes;
  sizes.reserve(messages.size());
  for (const Message& message : messages) sizes.push_back(estimate(message));
  const std::size_t kept = page_length(sizes, budget, keeps);
  if (kept == messages.size()) return false;
  const auto drop = static_cast<std::ptrdiff_t>(messages.size() - kept);
  if (keeps == PageKeeps::kNewest) {
    messages.erase(messages.begin(), messages.begin() + drop);
  } else {
    messages.erase(messages.end() - drop, messages.end());
  }
  return true;
}

}  // namespace nself::core
