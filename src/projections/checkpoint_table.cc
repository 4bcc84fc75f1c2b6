#include "projections/checkpoint_table.h"

namespace kiroku::projections {
namespace {

constexpr const char* kColumns =
    "projection, version, format, position, events_applied, events_skipped, "
    "last_event_created_us, state, last_error, deferred_ddl, events_per_second, updated_us";

SqlValue OptText(const std::string& s) { return s.empty() ? SqlValue::Null() : SqlValue::Text(s); }

}  // namespace

Status CheckpointTable::CreateIfMissing(Sink* sink) {
  KIROKU_RETURN_IF_ERROR(
      sink->Exec("CREATE TABLE IF NOT EXISTS _kiroku_checkpoint ("
                 "projection TEXT PRIMARY KEY, version BIGINT NOT NULL, format INTEGER NOT NULL, "
                 "position BIGINT, events_applied BIGINT NOT NULL, events_skipped BIGINT NOT NULL, "
                 "last_event_created_us BIGINT NOT NULL, state TEXT NOT NULL, last_error TEXT, "
                 "deferred_ddl TEXT, events_per_second DOUBLE PRECISION NOT NULL, "
                 "updated_us BIGINT NOT NULL)"));
  return sink->Exec(
      "CREATE TABLE IF NOT EXISTS _kiroku_dead_letter ("
      "projection TEXT NOT NULL, position BIGINT NOT NULL, stream TEXT NOT NULL, "
      "revision BIGINT NOT NULL, event_type TEXT NOT NULL, event_id TEXT NOT NULL, "
      "data TEXT, metadata TEXT, statement TEXT NOT NULL, error TEXT NOT NULL, "
      "at_us BIGINT NOT NULL, PRIMARY KEY (projection, position))");
}

Result<std::optional<CheckpointRow>> CheckpointTable::Read(Sink* sink,
                                                           const std::string& projection) {
  std::string lit = "'";
  for (char c : projection) lit += c == '\'' ? std::string("''") : std::string(1, c);
  lit += "'";
  std::optional<CheckpointRow> out;
  Status parse_error;
  KIROKU_RETURN_IF_ERROR(sink->Query(
      std::string("SELECT ") + kColumns + " FROM _kiroku_checkpoint WHERE projection = " + lit,
      [&](const SqlRow& r) {
        try {
          CheckpointRow row;
          row.projection = r[0].value_or("");
          row.version = std::stoll(r[1].value_or("0"));
          if (std::stoll(r[2].value_or("0")) != kCheckpointFormatVersion) {
            parse_error = Status::Corruption("checkpoint format " + r[2].value_or("?") +
                                             " is not " + std::to_string(kCheckpointFormatVersion));
            return false;
          }
          if (r[3]) row.position = Position(std::stoull(*r[3]));
          row.events_applied = std::stoull(r[4].value_or("0"));
          row.events_skipped = std::stoull(r[5].value_or("0"));
          row.last_event_created_us = std::stoll(r[6].value_or("0"));
          row.state = r[7].value_or("");
          row.last_error = r[8].value_or("");
          row.deferred_ddl = r[9].value_or("");
          row.events_per_second = std::stod(r[10].value_or("0"));
          row.updated_us = std::stoll(r[11].value_or("0"));
          out = std::move(row);
        } catch (const std::exception& e) {
          parse_error = Status::Corruption(std::string("checkpoint row: ") + e.what());
        }
        return false;
      }));
  if (!parse_error.ok()) return parse_error;
  return out;
}

Status CheckpointTable::Prepare() {
  std::string ph;
  for (int i = 1; i <= 12; ++i) ph += (i > 1 ? ", " : "") + sink_->Placeholder(i);
  KIROKU_ASSIGN_OR_RETURN(insert_, sink_->Prepare(std::string("INSERT INTO _kiroku_checkpoint (") +
                                                  kColumns + ") VALUES (" + ph + ")"));
  std::string set;
  const char* cols[] = {"version",        "format",
                        "position",       "events_applied",
                        "events_skipped", "last_event_created_us",
                        "state",          "last_error",
                        "deferred_ddl",   "events_per_second",
                        "updated_us"};
  for (int i = 0; i < 11; ++i) {
    set += (i ? ", " : "") + std::string(cols[i]) + " = " + sink_->Placeholder(i + 2);
  }
  KIROKU_ASSIGN_OR_RETURN(update_, sink_->Prepare("UPDATE _kiroku_checkpoint SET " + set +
                                                  " WHERE projection = " + sink_->Placeholder(1)));
  std::string dl;
  for (int i = 1; i <= 11; ++i) dl += (i > 1 ? ", " : "") + sink_->Placeholder(i);
  KIROKU_ASSIGN_OR_RETURN(
      dead_letter_,
      sink_->Prepare("INSERT INTO _kiroku_dead_letter (projection, position, stream, revision, "
                     "event_type, event_id, data, metadata, statement, error, at_us) VALUES (" +
                     dl + ")"));
  return Status::Ok();
}

std::vector<SqlValue> CheckpointTable::Values(const CheckpointRow& row) const {
  return {
      SqlValue::Text(row.projection),
      SqlValue::Int(row.version),
      SqlValue::Int(kCheckpointFormatVersion),
      row.position ? SqlValue::Int(static_cast<int64_t>(row.position->value)) : SqlValue::Null(),
      SqlValue::Int(static_cast<int64_t>(row.events_applied)),
      SqlValue::Int(static_cast<int64_t>(row.events_skipped)),
      SqlValue::Int(row.last_event_created_us),
      SqlValue::Text(row.state),
      OptText(row.last_error),
      OptText(row.deferred_ddl),
      SqlValue::Real(row.events_per_second),
      SqlValue::Int(row.updated_us)};
}

Status CheckpointTable::Insert(const CheckpointRow& row) {
  return sink_->Execute(insert_, Values(row), UINT64_MAX);
}

Status CheckpointTable::Update(const CheckpointRow& row, uint64_t tag) {
  return sink_->Execute(update_, Values(row), tag);
}

Status CheckpointTable::AddDeadLetter(const std::string& projection, const DeadLetter& d,
                                      int64_t now_us, uint64_t tag) {
  const RecordedEvent& e = *d.event;
  bool json = e.content_type == ContentType::kJson;
  return sink_->Execute(
      dead_letter_,
      {SqlValue::Text(projection), SqlValue::Int(static_cast<int64_t>(e.position.value)),
       SqlValue::Text(e.stream), SqlValue::Int(static_cast<int64_t>(e.revision.value)),
       SqlValue::Text(e.type), SqlValue::Text(e.id.ToString()),
       json ? OptText(e.data) : SqlValue::Null(), json ? OptText(e.metadata) : SqlValue::Null(),
       SqlValue::Text(d.statement), SqlValue::Text(d.error), SqlValue::Int(now_us)},
      tag);
}

}  // namespace kiroku::projections
