#pragma once

// Encryption at rest (REALTIME_ENCRYPTION_KEY) as a Store decorator: wraps any
// backend and seals message content (core/message_cipher.hpp: AES-256-GCM,
// random nonce, associated data = the channel id) on append_messages, and
// opens it on history and messages_since. Everything else passes through.
// Only `content` is encrypted: ids, seqs, user ids, timestamps, metadata and
// message_type stay readable for indexes and retention.
//
// Key check: the first time a key is used with a database, a value sealed
// under it is stored in realtime.server_state (kEncryptionKeyCheckState).
// Opening the database again with another key, or without a key once that
// value exists, throws EncryptionKeyError at once (at start), instead of
// failing at the first read. The check runs when the schema exists, else
// right after migrate().
//
// Reading: content that is not sealed (rows written before the key was set)
// is returned as stored. Sealed content that does not open under the checked
// key can only be a plaintext row that happens to look sealed, or a row
// altered in the database; it is also returned as stored (never decrypted
// garbage, and one odd row does not make a channel's history unreadable).
//
// Thread safety: like every Store, one thread at a time.

#include <memory>
#include <string_view>

#include "core/message_cipher.hpp"
#include "store/store.hpp"

namespace nself::store {

// The realtime.server_state key holding the key check value.
inline constexpr std::string_view kEncryptionKeyCheckState = "encryption_key_check";

// The configured key does not match the database (or is missing for a
// database whose messages are encrypted). The message names the key, never
// its value.
class EncryptionKeyError : public StoreError {
 public:
  using StoreError::StoreError;
};

class EncryptingStore final : public Store {
 public:
  // Checks the key against the database now when its schema exists. Throws
  // EncryptionKeyError on a mismatch, and whatever the backend throws.
  EncryptingStore(std::unique_ptr<Store> inner, core::MessageCipher cipher);

  std::string_view backend() const override { return inner_->backend(); }
  std::string describe() const override { return inner_->describe(); }
  bool connection_lost() const override { return inner_->connection_lost(); }
  std::vector<std::size_t> run_in_one_transaction(
      std::span<const std::function<void()>> steps) override {
    return inner_->run_in_one_transaction(steps);
  }

  MigrationReport migrate() override;
  int schema_version() override { return inner_->schema_version(); }

  Result<Channel> create_channel(const NewChannel& channel, Timestamp now) override {
    return inner_->create_channel(channel, now);
  }
  std::vector<Channel> list_channels(bool include_archived) override {
    return inner_->list_channels(include_archived);
  }
  std::optional<Channel> find_channel(std::string_view id_or_slug) override {
    return inner_->find_channel(id_or_slug);
  }
  bool delete_channel(std::string_view channel_id) override {
    return inner_->delete_channel(channel_id);
  }
  bool archive_channel(std::string_view channel_id, Timestamp now) override {
    return inner_->archive_channel(channel_id, now);
  }

  void upsert_member(const ChannelMember& member) override { inner_->upsert_member(member); }
  bool remove_member(std::string_view channel_id, std::string_view user_id) override {
    return inner_->remove_member(channel_id, user_id);
  }
  std::vector<ChannelMember> get_channel_members(std::string_view channel_id) override {
    return inner_->get_channel_members(channel_id);
  }
  std::optional<ChannelMember> find_member(std::string_view channel_id,
                                           std::string_view user_id) override {
    return inner_->find_member(channel_id, user_id);
  }
  void mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                 Timestamp now) override {
    inner_->mark_read(channel_id, user_id, seq, now);
  }

  std::vector<StoredMessage> append_messages(std::span<const NewMessage> messages,
                                             Timestamp now) override;
  std::vector<StoredMessage> history(std::string_view channel_id,
                                     std::optional<std::int64_t> before_seq, int limit) override;
  std::vector<StoredMessage> messages_since(std::string_view channel_id, std::int64_t after_seq,
                                            int limit) override;
  std::int64_t prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) override {
    return inner_->prune_before(table, cutoff, limit);
  }

  void record_connection(const ConnectionRecord& connection) override {
    inner_->record_connection(connection);
  }
  void record_disconnect(std::string_view connection_id, Timestamp now) override {
    inner_->record_disconnect(connection_id, now);
  }
  void touch_connections(std::span<const std::string> connection_ids, Timestamp now) override {
    inner_->touch_connections(connection_ids, now);
  }
  std::vector<ConnectionRecord> list_connections(bool include_disconnected) override {
    return inner_->list_connections(include_disconnected);
  }
  void add_subscription(std::string_view connection_id, std::string_view channel_id,
                        std::string_view user_id, Timestamp now) override {
    inner_->add_subscription(connection_id, channel_id, user_id, now);
  }
  void remove_subscription(std::string_view connection_id, std::string_view channel_id) override {
    inner_->remove_subscription(connection_id, channel_id);
  }
  std::int64_t count_subscriptions(std::string_view connection_id) override {
    return inner_->count_subscriptions(connection_id);
  }

  void update_presence(const PresenceRecord& presence) override {
    inner_->update_presence(presence);
  }
  std::vector<PresenceRecord> list_presence(std::string_view channel_id) override {
    return inner_->list_presence(channel_id);
  }

  Broadcast create_broadcast(const Broadcast& broadcast, Timestamp now) override {
    return inner_->create_broadcast(broadcast, now);
  }
  std::vector<Broadcast> due_broadcasts(Timestamp now) override {
    return inner_->due_broadcasts(now);
  }
  void mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) override {
    inner_->mark_broadcast_sent(broadcast_id, now);
  }
  std::vector<Broadcast> claim_due_broadcasts(Timestamp now, int limit) override {
    return inner_->claim_due_broadcasts(now, limit);
  }
  void release_broadcast(std::string_view broadcast_id) override {
    inner_->release_broadcast(broadcast_id);
  }
  std::vector<Broadcast> active_announcements(Timestamp now) override {
    return inner_->active_announcements(now);
  }
  std::vector<Broadcast> list_broadcasts() override { return inner_->list_broadcasts(); }
  bool delete_broadcast(std::string_view broadcast_id) override {
    return inner_->delete_broadcast(broadcast_id);
  }

  std::int64_t cleanup_stale_connections(Timestamp last_seen_before) override {
    return inner_->cleanup_stale_connections(last_seen_before);
  }
  std::int64_t cleanup_expired_broadcasts(Timestamp now) override {
    return inner_->cleanup_expired_broadcasts(now);
  }
  std::int64_t cleanup_stale_presence(Timestamp updated_before) override {
    return inner_->cleanup_stale_presence(updated_before);
  }

  StoreStats stats(Timestamp now) override { return inner_->stats(now); }
  std::optional<std::string> get_state(std::string_view key) override {
    return inner_->get_state(key);
  }
  void set_state(std::string_view key, std::string_view value) override {
    inner_->set_state(key, value);
  }

  void append_audit(const AuditEntry& entry) override { inner_->append_audit(entry); }
  std::vector<AuditEntry> list_audit(int limit) override { return inner_->list_audit(limit); }

 private:
  // Stores the key check value, or compares with the stored one.
  void check_key();
  void open_all(std::vector<StoredMessage>& messages) const;

  std::unique_ptr<Store> inner_;
  core::MessageCipher cipher_;
  bool key_checked_ = false;
};

// Applies REALTIME_ENCRYPTION_KEY to a freshly opened store: an empty key
// returns `store` as is, after checking that its database holds no key check
// value (else EncryptionKeyError: its messages are encrypted and would be
// unreadable); a key returns an EncryptingStore around it. `key_hex` must
// have passed core::MessageCipher::from_hex_key (load_config checks it);
// otherwise EncryptionKeyError.
std::unique_ptr<Store> apply_encryption(std::unique_ptr<Store> store, std::string_view key_hex);

}  // namespace nself::store
