#pragma once

// Store::run_in_one_transaction for both backends. The steps run in one
// transaction, and a store method's own Transaction opened inside it joins
// it (no savepoint: PostgreSQL makes each savepoint a subtransaction, and
// past 64 in one transaction every snapshot slows down; a version with one
// savepoint a job gave the worst `churn --subscribe` figure on PostgreSQL,
// docs/BENCHMARKS.md). A step that throws a StoreError (rare: a channel deleted
// meanwhile) undoes the whole batch, which then runs again one step per
// transaction, so that the failure stays the step's own and the others
// still commit. `Transaction` is the backend's RAII transaction: commit(),
// else rolled back.

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "store/store.hpp"

namespace nself::store {

template <class Transaction, class Backend>
std::vector<std::size_t> run_steps_in_one_transaction(
    Backend& backend, std::span<const std::function<void()>> steps) {
  std::vector<std::size_t> failed;
  if (steps.empty()) return failed;
  try {
    Transaction batch(backend);
    for (const auto& step : steps) step();
    batch.commit();
    return failed;
  } catch (const StoreUnavailable&) {
    throw;  // the database is gone: nothing was committed
  } catch (const StoreError&) {
    // Undone (also when SQLite rolled the transaction back itself); again,
    // one step at a time.
  }
  for (std::size_t index = 0; index < steps.size(); ++index) {
    try {
      Transaction alone(backend);
      steps[index]();
      alone.commit();
    } catch (const StoreUnavailable&) {
      throw;
    } catch (const StoreError&) {
      failed.push_back(index);
    }
  }
  return failed;
}

}  // namespace nself::store
