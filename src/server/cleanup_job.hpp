#pragma once

// `cleanup` on a running server (POST /api/cleanup, and any schedule): the
// steps of a store::CleanupRun, each submitted as its own StoreWorker job,
// the next one queued only when the previous has run. The worker commits the
// messages queued meanwhile between two jobs, so a cleanup of millions of
// rows delays a message by one batch (REALTIME_CLEANUP_BATCH_ROWS rows), not
// by the whole cleanup (issue 16, item 0b). A long run logs its progress once
// a second and a summary at the end.

#include <boost/json/object.hpp>
#include <functional>
#include <string>

#include "server/store_worker.hpp"
#include "store/maintenance.hpp"

namespace nself::server {

// Called once, on the worker thread: with the report when the cleanup
// finished (its audit row, action "cleanup" by `actor`, written); with null
// when the store was or became unavailable, or a step failed (logged),
// leaving the rest undone.
using CleanupDone = std::function<void(const store::CleanupReport* report)>;

void run_cleanup_job(StoreWorker& worker, const store::CleanupPolicy& policy, std::string actor,
                     CleanupDone done);

// The counts as `cleanup` reports them (API reply, CLI --json, audit row):
// {stale_connections, expired_broadcasts, old_messages, old_audit_entries,
// stale_presence}.
boost::json::object cleanup_removed_json(const store::CleanupReport& report);

}  // namespace nself::server
