#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nself::core {

// The manual's three channel types.
enum class ChannelType { kPublic, kPrivate, kPresence };

std::string_view to_string(ChannelType type);
// Parses "public", "private" or "presence" (exactly, lower case).
std::optional<ChannelType> parse_channel_type(std::string_view text);

// Derives a channel's slug from its name: lower case, runs of spaces (and
// underscores) become one '-', characters outside [a-z0-9-] are dropped,
// leading and trailing '-' are trimmed. May return "" (the caller rejects it).
std::string slugify(std::string_view name);

// A slug as stored and as accepted on the wire: 1..64 characters of [a-z0-9-],
// not starting or ending with '-'.
bool is_valid_slug(std::string_view slug);

// True when `text` has the canonical textual UUID form (8-4-4-4-12 hex digits).
bool looks_like_uuid(std::string_view text);

}  // namespace nself::core
