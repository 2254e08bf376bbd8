#include "store/uuid.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "core/channel.hpp"
#include "store/store.hpp"

namespace nself::store {

namespace {

std::string uuid_text(const std::array<unsigned char, 16>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0x0f]);
  }
  return text;
}

void random_bytes(unsigned char* out, std::size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    throw StoreError("cannot generate a UUID: the OpenSSL random generator failed");
  }
}

}  // namespace

std::string new_uuid() {
  std::array<unsigned char, 16> bytes{};
  random_bytes(bytes.data(), bytes.size());
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return uuid_text(bytes);
}

std::string new_message_uuid(std::chrono::sys_time<std::chrono::milliseconds> now) {
  std::array<unsigned char, 16> bytes{};
  random_bytes(bytes.data() + 6, 10);
  const auto ms =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, now.time_since_epoch().count()));
  for (int i = 0; i < 6; ++i)
    bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x70);  // version 7
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 9562 variant
  return uuid_text(bytes);
}

std::optional<std::string> canonical_uuid(std::string_view text) {
  if (!core::looks_like_uuid(text)) return std::nullopt;
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

}  // namespace nself::store
