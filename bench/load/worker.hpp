#pragma once

// One load-generating process: holds its share of the connections (the
// connection indices i with i % processes == process_index) on `threads`
// io_contexts, and talks to the coordinator over two pipe descriptors:
//
//   worker -> coordinator: "ready {json}\n" once every connection of its share
//                          has upgraded (and subscribed) or failed, then
//                          "result {json}\n" at the end of the run;
//   coordinator -> worker: "go\n" starts the measured phase.
//
// Time stamps in messages are steady_clock (CLOCK_MONOTONIC) nanoseconds,
// which every process on the machine shares, so a sender in one process and
// a receiver in another measure the same clock.

#include <string>
#include <vector>

#include "options.hpp"

namespace nself::bench {

// What the coordinator tells a worker.
struct WorkerPlan {
  Options options;
  int process_index = 0;
  int processes = 1;
  std::vector<std::string> tokens;  // one JWT per global connection index
};

// Runs the worker and returns its exit status. Never returns early on
// connection failures: they are counted and reported.
int run_worker(const WorkerPlan& plan, int report_fd, int control_fd);

}  // namespace nself::bench
