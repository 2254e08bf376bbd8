// libFuzzer target: what happens to message content around the store: the
// at-rest cipher (core/message_cipher) opening arbitrary stored text, and the
// content filters (core/content_filter) redacting arbitrary JSON.
//
// Properties: nothing crashes; unsealed text opens to "not sealed"; sealed
// text either opens to exactly what was sealed or fails, never garbage; a
// redaction of valid JSON is valid JSON holding no match of a filter.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/content_filter.hpp"
#include "core/message_cipher.hpp"
#include "fuzz_check.hpp"

namespace {

namespace core = nself::core;

const core::MessageCipher& cipher() {
  static const core::MessageCipher instance =
      *core::MessageCipher::from_hex_key(std::string(64, 'a'));
  return instance;
}

const core::ContentFilter& filter() {
  static const core::ContentFilter instance = *core::ContentFilter::parse(
      R"(\b\d{4}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b, (?i)password=\S+, (a+)+b)");
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto opened = cipher().open(input, "channel");
  if (!core::MessageCipher::is_sealed(input)) {
    NSELF_FUZZ_CHECK(opened.ok() && !opened->has_value());
  } else if (!opened.ok()) {
    NSELF_FUZZ_CHECK(opened.error().code == "decrypt_failed");
  }
  const std::string sealed = cipher().seal(input, "channel");
  NSELF_FUZZ_CHECK(core::MessageCipher::is_sealed(sealed));
  // The plaintext must not show through the ciphertext. The sealed text starts
  // with the fixed "\"nself-enc:v1:" marker, so a plaintext that is part of
  // that marker is found there: look only after it.
  const std::size_t body = 1 + core::kSealedPrefix.size();
  NSELF_FUZZ_CHECK(input.size() < 8 || sealed.find(input, body) == std::string::npos);
  const auto back = cipher().open(sealed, "channel");
  NSELF_FUZZ_CHECK(back.ok() && back->has_value() && **back == input);
  NSELF_FUZZ_CHECK(!cipher().open(sealed, "another channel").ok());

  boost::system::error_code error;
  boost::json::parse(input, error);
  if (!error) {
    if (const auto redacted = filter().redact_json(input)) {
      boost::json::parse(*redacted, error);
      NSELF_FUZZ_CHECK(!error);
      NSELF_FUZZ_CHECK(!filter().redact_json(*redacted).has_value() ||
                       redacted->find("[redacted]") != std::string::npos);
    }
  }
  (void)filter().redact_text(input);
  return 0;
}
