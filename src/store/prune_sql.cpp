#include "store/prune_sql.hpp"

namespace nself::store {

const char* sqlite_prune_sql(PruneTable table) {
  switch (table) {
    case PruneTable::kMessages:
      return "DELETE FROM realtime.messages WHERE rowid IN (SELECT rowid FROM realtime.messages "
             "WHERE sent_at < ?1 ORDER BY sent_at LIMIT ?2)";
    case PruneTable::kAuditLog:
      return "DELETE FROM realtime.audit_log WHERE id IN (SELECT id FROM realtime.audit_log "
             "WHERE at < ?1 ORDER BY at, id LIMIT ?2)";
  }
  return "";
}

const char* postgres_prune_sql(PruneTable table) {
  switch (table) {
    case PruneTable::kMessages:
      return "DELETE FROM realtime.messages WHERE id IN (SELECT id FROM realtime.messages "
             "WHERE sent_at < $1::timestamptz ORDER BY sent_at LIMIT $2)";
    case PruneTable::kAuditLog:
      return "DELETE FROM realtime.audit_log WHERE id IN (SELECT id FROM realtime.audit_log "
             "WHERE at < $1::timestamptz ORDER BY at, id LIMIT $2)";
  }
  return "";
}

}  // namespace nself::store
