#include "server/cleanup_job.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <memory>

namespace nself::server {
namespace {

using Clock = std::chrono::steady_clock;

struct CleanupState {
  CleanupState(StoreWorker& worker, const store::CleanupPolicy& policy, std::string actor,
               CleanupDone done)
      : worker(worker), run(policy), actor(std::move(actor)), done(std::move(done)) {}

  StoreWorker& worker;
  store::CleanupRun run;
  std::string actor;
  CleanupDone done;
  Clock::time_point started = Clock::now();
  Clock::time_point logged = started;
};

double seconds_since(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

void submit_step(const std::shared_ptr<CleanupState>& state) {
  state->worker.submit([state](store::Store* store) {
    if (store == nullptr) {
      state->done(nullptr);
      return;
    }
    bool more = false;
    try {
      more = state->run.step(*store);
    } catch (const store::StoreUnavailable&) {
      state->done(nullptr);
      throw;  // the worker marks the store unavailable
    } catch (const std::exception& error) {
      spdlog::error("cleanup stopped after {} batches: {}", state->run.report().batches,
                    error.what());
      state->done(nullptr);
      return;
    }
    const auto& report = state->run.report();
    if (more) {
      if (Clock::now() - state->logged >= std::chrono::seconds(1)) {
        state->logged = Clock::now();
        spdlog::info(
            "cleanup: {} old messages and {} audit rows deleted so far ({} batches, {:.1f} s)",
            report.old_messages, report.old_audit_entries, report.batches,
            seconds_since(state->started));
      }
      submit_step(state);  // behind the commits queued meanwhile
      return;
    }
    const auto log = report.batches > 2 ? spdlog::level::info : spdlog::level::debug;
    spdlog::log(log,
                "cleanup done in {:.1f} s: {} stale connections, {} expired broadcasts, {} old "
                "messages, {} old audit rows, {} stale presence rows ({} batches)",
                seconds_since(state->started), report.stale_connections, report.expired_broadcasts,
                report.old_messages, report.old_audit_entries, report.stale_presence,
                report.batches);
    const auto removed = cleanup_removed_json(report);
    try {
      store->append_audit({0,
                           std::chrono::time_point_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now()),
                           state->actor, "cleanup", std::nullopt, boost::json::serialize(removed)});
    } catch (const store::StoreUnavailable&) {
      state->done(nullptr);
      throw;
    } catch (const store::StoreError& error) {
      spdlog::warn("audit log: {}", error.what());
    }
    state->done(&report);
  });
}

}  // namespace

void run_cleanup_job(StoreWorker& worker, const store::CleanupPolicy& policy, std::string actor,
                     CleanupDone done) {
  submit_step(std::make_shared<CleanupState>(worker, policy, std::move(actor), std::move(done)));
}

boost::json::object cleanup_removed_json(const store::CleanupReport& report) {
  return {{"stale_connections", report.stale_connections},
          {"expired_broadcasts", report.expired_broadcasts},
          {"old_messages", report.old_messages},
          {"old_audit_entries", report.old_audit_entries},
          {"stale_presence", report.stale_presence}};
}

}  // namespace nself::server
