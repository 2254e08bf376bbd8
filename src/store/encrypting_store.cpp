#include "store/encrypting_store.hpp"

namespace nself::store {

EncryptingStore::EncryptingStore(std::unique_ptr<Store> inner, core::MessageCipher cipher)
    : inner_(std::move(inner)), cipher_(std::move(cipher)) {
  if (inner_->schema_version() > 0) check_key();
}

void EncryptingStore::check_key() {
  if (auto stored = inner_->get_state(kEncryptionKeyCheckState)) {
    if (!cipher_.matches_key_check(*stored)) {
      throw EncryptionKeyError(
          "REALTIME_ENCRYPTION_KEY does not match the key the messages in " + inner_->describe() +
          " were encrypted with: set the key this database was used with (a key cannot be "
          "changed in place; see docs/OPERATIONS.md, \"Encryption key\")");
    }
  } else {
    inner_->set_state(kEncryptionKeyCheckState, cipher_.make_key_check());
  }
  key_checked_ = true;
}

MigrationReport EncryptingStore::migrate() {
  MigrationReport report = inner_->migrate();
  if (!key_checked_) check_key();
  return report;
}

std::vector<StoredMessage> EncryptingStore::append_messages(std::span<const NewMessage> messages,
                                                            Timestamp now) {
  std::vector<NewMessage> sealed(messages.begin(), messages.end());
  for (auto& message : sealed) message.content = cipher_.seal(message.content, message.channel_id);
  std::vector<StoredMessage> stored = inner_->append_messages(sealed, now);
  // The caller gets its own content back (PostgreSQL would return the sealed
  // text, and fan-out needs the plaintext).
  for (std::size_t i = 0; i < stored.size() && i < messages.size(); ++i) {
    stored[i].content = messages[i].content;
  }
  return stored;
}

void EncryptingStore::open_all(std::vector<StoredMessage>& messages) const {
  for (auto& message : messages) {
    auto opened = cipher_.open(message.content, message.channel_id);
    if (opened.ok() && opened->has_value()) message.content = std::move(**opened);
    // Not sealed (written before the key was set), or sealed but not
    // authentic under the checked key: returned as stored (see the header).
  }
}

std::vector<StoredMessage> EncryptingStore::history(std::string_view channel_id,
                                                    std::optional<std::int64_t> before_seq,
                                                    int limit) {
  auto messages = inner_->history(channel_id, before_seq, limit);
  open_all(messages);
  return messages;
}

std::vector<StoredMessage> EncryptingStore::messages_since(std::string_view channel_id,
                                                           std::int64_t after_seq, int limit) {
  auto messages = inner_->messages_since(channel_id, after_seq, limit);
  open_all(messages);
  return messages;
}

std::unique_ptr<Store> apply_encryption(std::unique_ptr<Store> store, std::string_view key_hex) {
  if (key_hex.empty()) {
    if (store->schema_version() > 0 && store->get_state(kEncryptionKeyCheckState)) {
      throw EncryptionKeyError(
          "the messages in " + store->describe() +
          " are encrypted: set REALTIME_ENCRYPTION_KEY to the key they were encrypted with");
    }
    return store;
  }
  auto cipher = core::MessageCipher::from_hex_key(key_hex);
  if (!cipher) throw EncryptionKeyError("REALTIME_ENCRYPTION_KEY: " + cipher.error().message);
  return std::make_unique<EncryptingStore>(std::move(store), std::move(cipher).value());
}

}  // namespace nself::store
