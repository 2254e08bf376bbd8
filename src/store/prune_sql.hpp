#pragma once

// The statements of Store::prune_before, one per backend and table: a bounded
// batch of the oldest rows before a cutoff, deleted by key through a
// subquery that walks the table's time index (SQLite has no DELETE ... LIMIT
// unless built with it; PostgreSQL has none). Parameters: 1 the cutoff, 2 the
// most rows. See docs/OPERATIONS.md, "Cleanup and retention".

#include "store/store.hpp"

namespace nself::store {

const char* sqlite_prune_sql(PruneTable table);
const char* postgres_prune_sql(PruneTable table);

}  // namespace nself::store
