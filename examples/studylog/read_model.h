// The read side: the tables (learner_stats, study_groups) the studylog projection
// (projections/studylog.yaml) keeps in SQLite or PostgreSQL. The service only reads them.
// Implementations are thread-safe (a pool of connections) and reconnect when the database goes away
// or is switched to a rebuilt version (SQLite: the live symlink points elsewhere).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kiroku/status.h"
#include "page.h"

namespace studylog {

struct LearnerSummary {
  std::string learner_id;
  std::string name;
  int64_t study_days = 0;
  int64_t minutes = 0;
  int64_t lessons = 0;
  std::string last_studied;  // "" = never
};

class ReadModel {
 public:
  virtual ~ReadModel() = default;
  // IOError while the projection has not created the database yet (the API answers 503).
  virtual kiroku::Result<bool> GroupExists(const std::string& group_id) = 0;
  virtual kiroku::Result<Page> GroupPage(const PageRequest& request) = 0;
  virtual kiroku::Result<std::optional<LearnerSummary>> Learner(const std::string& learner_id) = 0;
};

// "sqlite:PATH" (the projection's live path) or "postgresql://..." (the projection's
// target database; tables are read through the live views in schema "studylog").
kiroku::Result<std::unique_ptr<ReadModel>> OpenReadModel(const std::string& target);

std::unique_ptr<ReadModel> OpenSqliteReadModel(const std::string& path);
kiroku::Result<std::unique_ptr<ReadModel>> OpenPostgresReadModel(const std::string& url);

// The page query for either database, with ?-style placeholders numbered by the caller:
// group, [key, learner id,] limit+1. `qualifier` prefixes table names ("studylog.").
std::string PageSql(const PageRequest& request, const std::string& qualifier,
                    bool numbered_placeholders);

}  // namespace studylog
