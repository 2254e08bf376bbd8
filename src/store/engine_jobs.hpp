#pragma once

// The engine's store work (core/engine/store_requests.hpp) run against a
// store::Store: the same reads and writes RealtimeHandler's store jobs do
// today, with the answers as the engine's plain values. Runs on whatever
// thread owns the Store (the store worker, a test's simulator).
//
// Failures: a StoreUnavailable gives failure "unavailable"; for reads, any
// other StoreError too (as today's jobs answer it); for an append, another
// StoreError gives "internal" (today's "the message could not be stored").
// Bookkeeping jobs (token 0) answer Done and swallow StoreErrors other than
// StoreUnavailable: presence and connection rows are rebuilt by the next
// change or heartbeat, as today.

#include <span>
#include <vector>

#include "core/engine/store_requests.hpp"
#include "store/store.hpp"

namespace nself::store {

core::engine::StoreReply run_engine_job(Store& store, const core::engine::StoreJob& job,
                                        Timestamp now);

// Runs `jobs` in order, every AppendMessage among them in ONE append_messages
// call (one transaction, the store worker's group commit); the other jobs
// one by one, after the batch. Replies in the order of `jobs`. A batch that
// fails with a StoreError other than StoreUnavailable is retried one message
// at a time so that one bad message (a channel deleted meanwhile) fails alone.
std::vector<core::engine::StoreReply> run_append_batch(Store& store,
                                                       std::span<const core::engine::StoreJob> jobs,
                                                       Timestamp now);

// Runs bookkeeping `jobs` (connection, subscription and presence rows,
// heartbeats, audit) in ONE transaction (Store::run_in_one_transaction): one
// commit for the pump instead of one per job, which under synchronous=FULL
// is one fsync per job. A job that fails is undone alone and answered Done,
// as run_engine_job answers it; an outage answers every job "unavailable".
std::vector<core::engine::StoreReply> run_bookkeeping_batch(
    Store& store, std::span<const core::engine::StoreJob> jobs, Timestamp now);

}  // namespace nself::store
