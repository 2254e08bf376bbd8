#include "core/message_cipher.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nself::core {
namespace {

const std::string kKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kOtherKey(64, 'f');

MessageCipher cipher(const std::string& key = kKey) {
  auto made = MessageCipher::from_hex_key(key);
  EXPECT_TRUE(made.ok());
  return *made;
}

TEST(MessageCipher, SealsToAJsonStringWithTheVersionPrefix) {
  const std::string sealed = cipher().seal(R"({"text":"hello"})", "chan");
  EXPECT_TRUE(MessageCipher::is_sealed(sealed));
  EXPECT_TRUE(sealed.starts_with("\"nself-enc:v1:"));
  EXPECT_EQ(sealed.find("hello"), std::string::npos);
  const auto value = boost::json::parse(sealed);  // valid JSON for jsonb columns
  EXPECT_TRUE(value.is_string());
}

TEST(MessageCipher, RoundTrips) {
  for (const std::string& plaintext : {std::string(R"({"text":"héllo"})"), std::string("1"),
                                       std::string(""), std::string(70'000, 'x')}) {
    const auto opened = cipher().open(cipher().seal(plaintext, "chan"), "chan");
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(opened->has_value());
    EXPECT_EQ(**opened, plaintext);
  }
}

TEST(MessageCipher, KnownAnswerWithAFixedNonce) {
  // AES-256-GCM of "1" under kKey (bytes 0..31), nonce 0..11, AAD
  // "nself-enc:v1:chan" (the context lower-cased): the format is pinned.
  const CipherNonce nonce{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  // Computed independently with Python's cryptography (AESGCM).
  EXPECT_EQ(cipher().seal_with_nonce("1", "Chan", nonce),
            "\"nself-enc:v1:AAECAwQFBgcICQoLdiJT8ukVQ56xzBktfbFlf3Q\"");
}

TEST(MessageCipher, EveryMessageGetsAFreshNonce) {
  EXPECT_NE(cipher().seal("same", "chan"), cipher().seal("same", "chan"));
}

TEST(MessageCipher, ContextIsCaseInsensitiveButBinding) {
  const std::string sealed = cipher().seal("x", "AbC");
  EXPECT_TRUE(cipher().open(sealed, "abc").ok());
  const auto moved = cipher().open(sealed, "other");
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, "decrypt_failed");
}

TEST(MessageCipher, WrongKeyIsAnErrorNeverGarbage) {
  const std::string sealed = cipher().seal(R"({"a":1})", "chan");
  const auto opened = cipher(kOtherKey).open(sealed, "chan");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "decrypt_failed");
}

TEST(MessageCipher, TamperedBytesFail) {
  std::string sealed = cipher().seal(R"({"a":1})", "chan");
  for (std::size_t at = 14; at + 1 < sealed.size(); at += 5) {
    std::string altered = sealed;
    altered[at] = altered[at] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(cipher().open(altered, "chan").ok()) << at;
  }
  EXPECT_FALSE(cipher().open("\"nself-enc:v1:AAAA\"", "chan").ok());  // too short
  EXPECT_FALSE(cipher().open("\"nself-enc:v1:!!!!\"", "chan").ok());  // not base64url
}

TEST(MessageCipher, PlaintextRowsAreReportedAsNotSealed) {
  for (const char* stored : {R"({"text":"old"})", "\"plain string\"", "42", "\"nself-enc:v2:x\"",
                             "\"nself-enc:v1:\"", ""}) {
    const auto opened = cipher().open(stored, "chan");
    ASSERT_TRUE(opened.ok()) << stored;
    EXPECT_FALSE(opened->has_value()) << stored;
  }
}

TEST(MessageCipher, KeyCheckTellsKeysApart) {
  const std::string check = cipher().make_key_check();
  EXPECT_TRUE(cipher().matches_key_check(check));
  EXPECT_FALSE(cipher(kOtherKey).matches_key_check(check));
  EXPECT_FALSE(cipher().matches_key_check("garbage"));
  EXPECT_FALSE(cipher().matches_key_check(cipher().seal("other text", "key-check")));
}

TEST(MessageCipher, KeyMustBe64HexCharacters) {
  EXPECT_TRUE(MessageCipher::from_hex_key("  " + kKey + "\n").ok());
  EXPECT_TRUE(MessageCipher::from_hex_key(std::string(64, 'A')).ok());
  const std::string secretish = std::string(63, 'a') + "g";
  for (const std::string& bad : {std::string(), std::string(62, 'a'), std::string(66, 'a'),
                                 secretish, std::string(32, 'a')}) {
    const auto made = MessageCipher::from_hex_key(bad);
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_EQ(made.error().code, "invalid_config");
    if (!bad.empty()) {
      EXPECT_EQ(made.error().message.find(bad), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace nself::core
