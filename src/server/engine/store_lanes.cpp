#include "server/engine/store_lanes.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

namespace nself::server::engine {

namespace {
std::size_t lane_of(core::engine::StoreClass cls) {
  return static_cast<std::size_t>(cls);
}
}  // namespace

StoreLanes::StoreLanes(StoreWorker& worker, Runner run, Deliver deliver, StoreLaneBounds bounds)
    : worker_(worker), run_(std::move(run)), deliver_(std::move(deliver)), bounds_(bounds) {}

std::vector<StoreLanes::StoreReply> StoreLanes::submit(std::vector<StoreJob>& jobs) {
  std::vector<StoreReply> refused;
  bool start_pump = false;
  {
    std::lock_guard lock(mutex_);
    const std::size_t limits[3] = {bounds_.commits, bounds_.reads, bounds_.bookkeeping};
    for (StoreJob& job : jobs) {
      std::size_t lane = lane_of(core::engine::class_of(job.request));
      if (lanes_[lane].size() >= limits[lane]) {
        if (job.token != 0) {
          StoreReply reply;
          reply.token = job.token;
          reply.failure = "overloaded";
          refused.push_back(std::move(reply));
          ++stats_.overloaded;
        } else {
          ++stats_.dropped;
        }
        continue;
      }
      lanes_[lane].push_back(std::move(job));
    }
    if (!pump_queued_ && (!lanes_[0].empty() || !lanes_[1].empty() || !lanes_[2].empty())) {
      pump_queued_ = start_pump = true;
    }
  }
  jobs.clear();
  if (start_pump) worker_.submit([this](store::Store* store) { pump(store); });
  return refused;
}

void StoreLanes::pump(store::Store* store) {
  std::vector<StoreJob> jobs;
  StoreClass cls = StoreClass::kCommit;
  {
    std::lock_guard lock(mutex_);
    ++stats_.pumps;
    std::size_t lane = !lanes_[0].empty() ? 0 : !lanes_[1].empty() ? 1 : 2;
    cls = static_cast<StoreClass>(lane);
    std::size_t take = std::min(lanes_[lane].size(), lane == 0   ? bounds_.batch
                                                     : lane == 1 ? bounds_.reads_per_pump
                                                                 : bounds_.bookkeeping_per_pump);
    jobs.assign(std::make_move_iterator(lanes_[lane].begin()),
                std::make_move_iterator(lanes_[lane].begin() + static_cast<std::ptrdiff_t>(take)));
    lanes_[lane].erase(lanes_[lane].begin(),
                       lanes_[lane].begin() + static_cast<std::ptrdiff_t>(take));
  }
  if (!jobs.empty()) {
    std::map<std::uint64_t, core::engine::ShardIndex> origins;
    for (const StoreJob& job : jobs) {
      if (job.token != 0) origins[job.token] = job.origin;
    }
    const auto started = std::chrono::steady_clock::now();
    std::vector<StoreReply> replies = run_(store, jobs, cls);
    if (cls == StoreClass::kCommit && store != nullptr) {
      worker_.observe_commit(jobs.size(), std::chrono::steady_clock::now() - started);
    }
    std::map<core::engine::ShardIndex, std::vector<StoreReply>> by_origin;
    for (StoreReply& reply : replies) {
      auto found = origins.find(reply.token);
      if (found != origins.end()) by_origin[found->second].push_back(std::move(reply));
    }
    for (auto& [origin, list] : by_origin) deliver_(origin, std::move(list));
  }
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    again = !lanes_[0].empty() || !lanes_[1].empty() || !lanes_[2].empty();
    pump_queued_ = again;
  }
  if (again) worker_.submit([this](store::Store* next) { pump(next); });
}

StoreLaneStats StoreLanes::stats() const {
  std::lock_guard lock(mutex_);
  StoreLaneStats out = stats_;
  for (std::size_t lane = 0; lane < 3; ++lane) out.waiting[lane] = lanes_[lane].size();
  return out;
}

}  // namespace nself::server::engine
