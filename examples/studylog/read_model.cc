#include "read_model.h"

namespace studylog {

kiroku::Result<std::unique_ptr<ReadModel>> OpenReadModel(const std::string& target) {
  if (target.rfind("sqlite:", 0) == 0 && target.size() > 7) {
    return OpenSqliteReadModel(target.substr(7));
  }
  if (target.rfind("postgresql://", 0) == 0 || target.rfind("postgres://", 0) == 0) {
    return OpenPostgresReadModel(target);
  }
  return kiroku::Status::InvalidArgument(
      "read model must be sqlite:PATH or postgresql://URL, not '" + target + "'");
}

std::string PageSql(const PageRequest& r, const std::string& q, bool numbered) {
  const std::string key = "m." + std::string(SortName(r.sort));
  const char* dir = r.descending ? "DESC" : "ASC";
  auto ph = [numbered](int n) { return (numbered ? "$" : "?") + std::to_string(n); };
  // `group_id <> ''` lets both databases use the partial indexes (the learner's own row
  // has group_id '').
  std::string sql = "SELECT m.learner_id, m.name, m.study_days, m.minutes, m.last_studied FROM " +
                    q + "learner_stats m WHERE m.group_id = " + ph(1) + " AND m.group_id <> ''";
  int next = 2;
  if (r.after) {
    // Row values: one index range on (group_id, key, learner_id) in both databases.
    std::string key_ph = ph(next++);
    if (numbered) key_ph += r.sort == SortKey::kLastStudied ? "::text" : "::bigint";
    std::string id_ph = ph(next++);
    if (numbered) id_ph += "::text";
    sql += " AND (" + key + ", m.learner_id) " + (r.descending ? "<" : ">") + " (" + key_ph + ", " +
           id_ph + ")";
  }
  sql += " ORDER BY " + key + " " + dir + ", m.learner_id " + dir + " LIMIT " + ph(next);
  return sql;
}

}  // namespace studylog
