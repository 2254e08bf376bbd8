#pragma once

// Per-channel ordering of sequenced events arriving from several nodes
// (docs/SCALING.md, "Ordering"). Pure: time is passed in, nothing is read or
// fetched here; the caller fills gaps from the store and feeds the answer back.
//
// Every event of a channel that a node delivers, its own and other nodes'
// alike, goes through push(): events are released strictly in seq order, each
// seq at most once. An event that arrives after a gap (seq > last released +
// 1) is held until the missing ones arrive, or until it has been held for
// `max_hold` (or more than `max_held` events are held for the channel): then
// due_gaps() reports the gap once, and the caller answers with resolve():
// the events it found in the store for the gap (persistent channels), or none
// (ephemeral channels: the missing seqs are skipped). Events that arrive in the
// meantime still close the gap by themselves.
//
//   buffer.track(channel_id, channel.last_seq);       // first local subscriber
//   for (auto& e : buffer.push(channel_id, seq, event, now)) fan_out(e.value);
//   for (auto& gap : buffer.due_gaps(now)) fetch `gap` from the store, then
//     for (auto& e : buffer.resolve(gap, found)) fan_out(e.value);
//
// A caller MUST answer every reported gap with resolve() (an empty `found`
// when the store failed): until then events after the gap stay held.
//
// Thread safety: none; one buffer per thread that fans out (a loop).

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace nself::core {

struct SeqReorderOptions {
  // How long an event waits for the ones before it.
  std::chrono::milliseconds max_hold{500};
  // More held events than this in one channel make its gap due at once.
  std::size_t max_held = 1024;
};

// Missing seqs of a channel: after_seq + 1 .. before_seq - 1 (both exclusive).
struct SeqGap {
  std::string channel_id;
  std::int64_t after_seq = 0;
  std::int64_t before_seq = 0;
  bool operator==(const SeqGap&) const = default;
};

template <class T>
class SeqReorderBuffer {
 public:
  using Time = std::chrono::steady_clock::time_point;
  struct Event {
    std::int64_t seq = 0;
    T value;
  };

  explicit SeqReorderBuffer(SeqReorderOptions options = {}) : options_(options) {}

  // Orders `channel_id` from `last_seq` on (the seq its subscribers have: the
  // channel's last_seq when the first local subscriber came). Returns false,
  // changing nothing, when the channel is tracked already.
  // With `first_gap_due_at_once`, a gap before the first event released
  // after last_seq is due at once instead of after max_hold: for a channel
  // tracked from a store read, the events between the read and the first one
  // that arrives were dropped before tracking began (nobody was subscribed)
  // and will not arrive again; only the store has them.
  bool track(const std::string& channel_id, std::int64_t last_seq,
             bool first_gap_due_at_once = false) {
    const auto [it, inserted] = channels_.try_emplace(channel_id, last_seq);
    if (inserted) it->second.gap_due_at_once = first_gap_due_at_once;
    return inserted;
  }
  // Stops ordering (the last local subscriber left); held events are dropped.
  void forget(const std::string& channel_id) {
    channels_.erase(channel_id);
    holding_.erase(channel_id);
  }
  bool tracked(const std::string& channel_id) const { return channels_.contains(channel_id); }
  // The seq of the last event released (or skipped), none when untracked.
  std::optional<std::int64_t> last_seq(const std::string& channel_id) const {
    const auto it = channels_.find(channel_id);
    if (it == channels_.end()) return std::nullopt;
    return it->second.last;
  }

  // Offers event `seq` of `channel_id`; returns the events releasable now, in
  // seq order. An untracked channel is tracked from seq - 1 (the event is
  // released). A seq already released, skipped or held is a duplicate:
  // dropped (counted by duplicates()). `seq` must be >= 1 (asserted).
  std::vector<Event> push(const std::string& channel_id, std::int64_t seq, T value, Time now) {
    assert(seq >= 1);
    auto it = channels_.try_emplace(channel_id, seq - 1).first;
    ChannelState& state = it->second;
    std::vector<Event> released;
    if (seq <= state.last || state.held.contains(seq)) {
      ++duplicates_;
      return released;
    }
    if (seq == state.last + 1) {
      state.last = seq;
      state.gap_due_at_once = false;
      released.push_back(Event{seq, std::move(value)});
      release_contiguous(channel_id, state, released);
      return released;
    }
    state.held.emplace(seq, Held{std::move(value), now});
    holding_.insert(channel_id);
    return released;
  }

  // Gaps due at `now`: the oldest held event of the channel has waited
  // max_hold, or the channel holds more than max_held events. Each gap is
  // reported once; answer it with resolve().
  std::vector<SeqGap> due_gaps(Time now) {
    std::vector<SeqGap> gaps;
    for (const auto& channel_id : holding_) {
      ChannelState& state = channels_.at(channel_id);
      if (state.reported || state.held.empty()) continue;
      if (!state.gap_due_at_once && now - oldest_arrival(state) < options_.max_hold &&
          state.held.size() <= options_.max_held) {
        continue;
      }
      state.reported = true;
      state.gap_due_at_once = false;
      gaps.push_back(SeqGap{channel_id, state.last, state.held.begin()->first});
    }
    return gaps;
  }

  // The answer to a reported gap: `found` are events read for it (events
  // outside the gap, or already released, are ignored); every seq of the gap
  // still missing after them is skipped (counted by skipped()). Returns the
  // events releasable now, in order. A gap closed meanwhile by pushes, or of
  // a forgotten channel, changes nothing beyond releasing what `found` allows.
  std::vector<Event> resolve(const SeqGap& gap, std::vector<Event> found) {
    std::vector<Event> released;
    const auto it = channels_.find(gap.channel_id);
    if (it == channels_.end()) return released;
    ChannelState& state = it->second;
    state.reported = false;
    std::sort(found.begin(), found.end(),
              [](const Event& a, const Event& b) { return a.seq < b.seq; });
    for (auto& event : found) {
      if (event.seq <= state.last || event.seq >= gap.before_seq) continue;
      if (event.seq == state.last + 1) {
        state.last = event.seq;
        released.push_back(std::move(event));
        release_contiguous(gap.channel_id, state, released);
        continue;
      }
      // Found events are never duplicated among themselves once sorted, but
      // one may have been pushed in the meantime.
      if (state.held.contains(event.seq)) continue;
      state.held.emplace(event.seq, Held{std::move(event.value), Time{}});
      holding_.insert(gap.channel_id);
    }
    // What is still missing below the gap's end is skipped.
    while (state.last + 1 < gap.before_seq) {
      const auto next = state.held.begin();
      const std::int64_t target =
          state.held.empty() || next->first > gap.before_seq ? gap.before_seq - 1 : next->first - 1;
      if (target > state.last) {
        skipped_ += static_cast<std::uint64_t>(target - state.last);
        state.last = target;
      }
      release_contiguous(gap.channel_id, state, released);
    }
    release_contiguous(gap.channel_id, state, released);
    return released;
  }

  // When the earliest held event becomes due (for a timer); none when nothing is held.
  std::optional<Time> next_deadline() const {
    std::optional<Time> earliest;
    for (const auto& channel_id : holding_) {
      const ChannelState& state = channels_.at(channel_id);
      if (state.reported || state.held.empty()) continue;
      const Time oldest = oldest_arrival(state);
      if (oldest == Time::max()) continue;
      const Time due = state.gap_due_at_once || state.held.size() > options_.max_held
                           ? oldest
                           : oldest + options_.max_hold;
      if (!earliest || due < *earliest) earliest = due;
    }
    return earliest;
  }

  // Events held across all channels.
  std::size_t held() const {
    std::size_t count = 0;
    for (const auto& channel_id : holding_) count += channels_.at(channel_id).held.size();
    return count;
  }
  std::uint64_t duplicates() const { return duplicates_; }
  std::uint64_t skipped() const { return skipped_; }

 private:
  struct Held {
    T value;
    Time arrived;  // Time{} for events found in the store: never the oldest
  };
  struct ChannelState {
    explicit ChannelState(std::int64_t last_seq) : last(last_seq) {}
    std::int64_t last = 0;
    std::map<std::int64_t, Held> held;  // seq -> event, all > last + 1
    bool reported = false;              // a gap was reported, resolve() pending
    bool gap_due_at_once = false;       // track(..., true) until the first release or report
  };

  // Moves the held events that follow `last` without a hole into `released`.
  void release_contiguous(const std::string& channel_id, ChannelState& state,
                          std::vector<Event>& released) {
    while (!state.held.empty() && state.held.begin()->first == state.last + 1) {
      auto node = state.held.extract(state.held.begin());
      state.last = node.key();
      released.push_back(Event{node.key(), std::move(node.mapped().value)});
    }
    if (state.held.empty()) {
      state.reported = false;
      holding_.erase(channel_id);
    }
  }

  Time oldest_arrival(const ChannelState& state) const {
    Time oldest = Time::max();
    for (const auto& [seq, held] : state.held) {
      if (held.arrived != Time{} && held.arrived < oldest) oldest = held.arrived;
    }
    return oldest;
  }

  SeqReorderOptions options_;
  std::unordered_map<std::string, ChannelState> channels_;
  std::unordered_set<std::string> holding_;  // channels with held events
  std::uint64_t duplicates_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace nself::core
