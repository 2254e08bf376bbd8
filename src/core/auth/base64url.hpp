#pragma once

// Base64url (RFC 4648 section 5) without padding, as used by JWS compact
// serialization. Pure functions, thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace nself::core::auth {

// Encodes `bytes` as unpadded base64url.
std::string base64url_encode(std::string_view bytes);

// Decodes unpadded base64url. Returns nullopt for characters outside the
// alphabet, for '=' padding, for an impossible length (4n+1) and for non-zero
// trailing bits (so every byte string has exactly one accepted encoding).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace nself::core::auth
