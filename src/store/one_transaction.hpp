#pragma once

// Store::run_in_one_transaction for both backends: the steps in one
// transaction, each in a savepoint (a backend's Transaction opened inside
// another is one), so a step that throws a StoreError is undone alone.
// `Transaction` is the backend's RAII transaction (commit(), else rolled
// back); `still_open()` tells whether the outer transaction survived a
// failed step (SQLite rolls the whole transaction back on some errors).

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "store/store.hpp"

namespace nself::store {

template <class Transaction, class Backend, class StillOpen>
std::vector<std::size_t> run_steps_in_one_transaction(Backend& backend,
                                                      std::span<const std::function<void()>> steps,
                                                      StillOpen still_open) {
  std::vector<std::size_t> failed;
  if (steps.empty()) return failed;
  Transaction batch(backend);
  for (std::size_t index = 0; index < steps.size(); ++index) {
    Transaction step(backend);
    try {
      steps[index]();
      step.commit();
    } catch (const StoreUnavailable&) {
      throw;  // `batch` rolls everything back (or the connection is gone with it)
    } catch (const StoreError&) {
      failed.push_back(index);  // `step` undoes this one's writes
    }
    if (!still_open()) {
      throw StoreError("the batch's transaction was rolled back after an error");
    }
  }
  batch.commit();
  return failed;
}

}  // namespace nself::store
