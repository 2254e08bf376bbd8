#pragma once

// A store that forwards to another and, while `failing` is true, fails as a
// lost database does (StoreUnavailable) on schema_version, find_channel,
// append_messages and record_connection: the engine jobs' "unavailable"
// path. Copied from tests/integration/store_worker/store_worker_test.cpp,
// with find_channel and record_connection failing too.

#include <memory>
#include <string>

#include "store/store.hpp"

namespace nself::test::engine {

class FailingStore final : public store::Store {
 public:
  explicit FailingStore(store::Store& inner, const bool& failing)
      : inner_(&inner), failing_(failing) {}
  std::string_view backend() const override { return inner_->backend(); }
  bool connection_lost() const override { return lost_; }
  std::vector<std::size_t> run_in_one_transaction(
      std::span<const std::function<void()>> steps) override {
    return inner_->run_in_one_transaction(steps);
  }
  std::string describe() const override { return inner_->describe(); }
  store::MigrationReport migrate() override { return inner_->migrate(); }
  int schema_version() override {
    check();
    return inner_->schema_version();
  }
  Result<store::Channel> create_channel(const store::NewChannel& c, store::Timestamp t) override {
    return inner_->create_channel(c, t);
  }
  std::vector<store::Channel> list_channels(bool a) override { return inner_->list_channels(a); }
  std::optional<store::Channel> find_channel(std::string_view id) override {
    check();
    return inner_->find_channel(id);
  }
  bool delete_channel(std::string_view id) override { return inner_->delete_channel(id); }
  bool archive_channel(std::string_view id, store::Timestamp t) override {
    return inner_->archive_channel(id, t);
  }
  void upsert_member(const store::ChannelMember& m) override { inner_->upsert_member(m); }
  bool remove_member(std::string_view c, std::string_view u) override {
    return inner_->remove_member(c, u);
  }
  std::vector<store::ChannelMember> get_channel_members(std::string_view c) override {
    return inner_->get_channel_members(c);
  }
  std::optional<store::ChannelMember> find_member(std::string_view c, std::string_view u) override {
    return inner_->find_member(c, u);
  }
  void mark_read(std::string_view c, std::string_view u, std::int64_t s,
                 store::Timestamp t) override {
    inner_->mark_read(c, u, s, t);
  }
  std::vector<store::StoredMessage> append_messages(std::span<const store::NewMessage> m,
                                                    store::Timestamp t) override {
    check();
    return inner_->append_messages(m, t);
  }
  std::vector<store::StoredMessage> history(std::string_view c, std::optional<std::int64_t> b,
                                            int l) override {
    return inner_->history(c, b, l);
  }
  std::vector<store::StoredMessage> messages_since(std::string_view c, std::int64_t a,
                                                   int l) override {
    return inner_->messages_since(c, a, l);
  }
  std::int64_t prune_before(store::PruneTable table, store::Timestamp t,
                            std::int64_t limit) override {
    return inner_->prune_before(table, t, limit);
  }
  void record_connection(const store::ConnectionRecord& c) override {
    check();
    inner_->record_connection(c);
  }
  void record_disconnect(std::string_view c, store::Timestamp t) override {
    inner_->record_disconnect(c, t);
  }
  void touch_connections(std::span<const std::string> c, store::Timestamp t) override {
    inner_->touch_connections(c, t);
  }
  std::vector<store::ConnectionRecord> list_connections(bool d) override {
    return inner_->list_connections(d);
  }
  void add_subscription(std::string_view c, std::string_view ch, std::string_view u,
                        store::Timestamp t) override {
    inner_->add_subscription(c, ch, u, t);
  }
  void remove_subscription(std::string_view c, std::string_view ch) override {
    inner_->remove_subscription(c, ch);
  }
  std::int64_t count_subscriptions(std::string_view c) override {
    return inner_->count_subscriptions(c);
  }
  void update_presence(const store::PresenceRecord& p) override { inner_->update_presence(p); }
  std::vector<store::PresenceRecord> list_presence(std::string_view c) override {
    return inner_->list_presence(c);
  }
  store::Broadcast create_broadcast(const store::Broadcast& b, store::Timestamp t) override {
    return inner_->create_broadcast(b, t);
  }
  std::vector<store::Broadcast> due_broadcasts(store::Timestamp t) override {
    return inner_->due_broadcasts(t);
  }
  void mark_broadcast_sent(std::string_view b, store::Timestamp t) override {
    inner_->mark_broadcast_sent(b, t);
  }
  std::vector<store::Broadcast> claim_due_broadcasts(store::Timestamp t, int l) override {
    return inner_->claim_due_broadcasts(t, l);
  }
  void release_broadcast(std::string_view b) override { inner_->release_broadcast(b); }
  std::vector<store::Broadcast> active_announcements(store::Timestamp t) override {
    return inner_->active_announcements(t);
  }
  std::vector<store::Broadcast> list_broadcasts() override { return inner_->list_broadcasts(); }
  bool delete_broadcast(std::string_view b) override { return inner_->delete_broadcast(b); }
  std::int64_t cleanup_stale_connections(store::Timestamp t) override {
    return inner_->cleanup_stale_connections(t);
  }
  std::int64_t cleanup_expired_broadcasts(store::Timestamp t) override {
    return inner_->cleanup_expired_broadcasts(t);
  }
  std::int64_t cleanup_stale_presence(store::Timestamp t) override {
    return inner_->cleanup_stale_presence(t);
  }
  store::StoreStats stats(store::Timestamp t) override { return inner_->stats(t); }
  std::optional<std::string> get_state(std::string_view k) override { return inner_->get_state(k); }
  void set_state(std::string_view k, std::string_view v) override { inner_->set_state(k, v); }
  void append_audit(const store::AuditEntry& e) override { inner_->append_audit(e); }
  std::vector<store::AuditEntry> list_audit(int l) override { return inner_->list_audit(l); }

 private:
  void check() {
    if (!failing_) return;
    lost_ = true;
    throw store::StoreUnavailable("test: lost the connection");
  }
  store::Store* inner_;
  const bool& failing_;
  bool lost_ = false;
};

}  // namespace nself::test::engine
