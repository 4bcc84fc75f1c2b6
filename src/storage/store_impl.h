// The embedded Store: wires the log, the index, recovery, the committer and the readers.
// Directory layout: DIR/LOCK, DIR/log/<segments>, DIR/log/lost+found/, DIR/index/ (RocksDB).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "kiroku/env.h"
#include "kiroku/store.h"
#include "storage/committer.h"
#include "storage/event_reader.h"
#include "storage/log_end_notifier.h"
#include "storage/log_writer.h"
#include "storage/segment_reader.h"
#include "storage/stream_heads.h"
#include "storage/stream_index.h"

namespace kiroku {

class StoreImpl final : public Store {
 public:
  static Result<std::unique_ptr<StoreImpl>> OpenImpl(const std::string& dir, StoreOptions options);
  ~StoreImpl() override;

  Result<AppendResult> Append(std::string_view stream, ExpectedRevision expected,
                              std::vector<EventData> events) override;
  void AppendAsync(std::string_view stream, ExpectedRevision expected,
                   std::vector<EventData> events, AppendCallback done) override;
  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& options) override;
  Result<ReadAllResult> ReadAll(const ReadAllOptions& options) override;
  Result<Position> ScanAll(const ReadAllOptions& options, const EventVisitor& visit) override;
  Result<StreamMetadataResult> GetStreamMetadata(std::string_view stream) override;
  Result<AppendResult> SetStreamMetadata(std::string_view stream, ExpectedRevision expected,
                                         const StreamMetadata& metadata) override;
  Result<DeleteResult> Delete(std::string_view stream, ExpectedRevision expected) override;
  Result<DeleteResult> Tombstone(std::string_view stream, ExpectedRevision expected) override;
  Result<AppendResult> AppendWithSnapshot(std::string_view stream, ExpectedRevision expected,
                                          std::vector<EventData> events, SnapshotData snapshot,
                                          const SnapshotOptions& options) override;
  void AppendWithSnapshotAsync(std::string_view stream, ExpectedRevision expected,
                               std::vector<EventData> events, SnapshotData snapshot,
                               const SnapshotOptions& options, AppendCallback done) override;
  Result<std::optional<StoredSnapshot>> LoadSnapshot(std::string_view stream,
                                                     StreamRevision at_or_below) override;
  Result<std::optional<StreamRevision>> StreamHead(std::string_view stream) override;
  Position LogEnd() const override;
  bool WaitForAppend(Position known_end, std::chrono::milliseconds timeout) override;
  StoreStats Stats() const override;

  uint64_t replayed_events() const { return replayed_events_; }
  const std::string& recovery_note() const { return recovery_note_; }

 private:
  StoreImpl() = default;
  Status Recover();
  Status ValidateAppend(std::string_view stream, std::vector<EventData>* events) const;
  Result<AppendResult> SubmitAndWait(std::unique_ptr<CommitRequest> req);
  Result<std::unique_ptr<CommitRequest>> PrepareSnapshotAppend(std::string_view stream,
                                                               ExpectedRevision expected,
                                                               std::vector<EventData> events,
                                                               SnapshotData snapshot,
                                                               const SnapshotOptions& options);

  std::string dir_;
  StoreOptions options_;
  std::unique_ptr<Env> owned_env_;
  Env* env_ = nullptr;
  std::unique_ptr<FileLock> lock_;
  SegmentSet segments_;
  std::unique_ptr<StreamIndex> index_;
  std::unique_ptr<StreamHeads> heads_;
  std::unique_ptr<LogWriter> writer_;
  std::unique_ptr<EventReader> reader_;
  std::unique_ptr<Committer> committer_;
  std::atomic<uint64_t> visible_end_{0};
  LogEndNotifier notifier_{&visible_end_};
  CommitterStats stats_;
  uint64_t replayed_events_ = 0;
  uint64_t last_sparse_ = 0;
  std::string recovery_note_;
};

// Limits on names (bytes).
inline constexpr size_t kMaxStreamNameBytes = 2048;
inline constexpr size_t kMaxEventTypeBytes = 1024;

}  // namespace kiroku
