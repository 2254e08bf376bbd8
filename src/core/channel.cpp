#include "core/channel.hpp"

#include <cctype>

namespace nself::core {

std::string_view to_string(ChannelType type) {
  switch (type) {
    case ChannelType::kPublic:
      return "public";
    case ChannelType::kPrivate:
      return "private";
    case ChannelType::kPresence:
      return "presence";
  }
  return "public";
}

std::optional<ChannelType> parse_channel_type(std::string_view text) {
  if (text == "public") return ChannelType::kPublic;
  if (text == "private") return ChannelType::kPrivate;
  if (text == "presence") return ChannelType::kPresence;
  return std::nullopt;
}

std::string slugify(std::string_view name) {
  std::string slug;
  slug.reserve(name.size());
  for (char raw : name) {
    const auto c = static_cast<unsigned char>(raw);
    if (std::isalnum(c) && c < 0x80) {
      slug.push_back(static_cast<char>(std::tolower(c)));
    } else if (c == ' ' || c == '-' || c == '_' || c == '\t') {
      if (!slug.empty() && slug.back() != '-') slug.push_back('-');
    }
    // Everything else (punctuation, non-ASCII bytes) is dropped.
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.size() > 64) {
    slug.resize(64);
    while (!slug.empty() && slug.back() == '-') slug.pop_back();
  }
  return slug;
}

bool is_valid_slug(std::string_view slug) {
  if (slug.empty() || slug.size() > 64) return false;
  if (slug.front() == '-' || slug.back() == '-') return false;
  for (char c : slug) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool looks_like_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace nself::core
