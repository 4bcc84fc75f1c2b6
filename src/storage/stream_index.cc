#include "storage/stream_index.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "common/coding.h"
#include "storage/index_format.h"

namespace kiroku {
namespace {

using namespace index_format;

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption("index " + what + ": " + s.ToString());
  return Status::IOError("index " + what + ": " + s.ToString());
}

std::string ExtentKey(uint64_t stream_id, uint64_t revision) {
  std::string k(1, kExtentPrefix);
  coding::PutBigEndian64(&k, stream_id);
  coding::PutBigEndian64(&k, revision);
  return k;
}

std::string SparseKey(uint64_t position) {
  std::string k(1, kSparsePrefix);
  coding::PutBigEndian64(&k, position);
  return k;
}

std::string HeadKey(std::string_view name) {
  std::string k(1, kHeadPrefix);
  k.append(name);
  return k;
}

bool DecodeExtent(const rocksdb::Slice& key, const rocksdb::Slice& value, uint64_t* id, Extent* e) {
  if (key.size() != 17 || key[0] != kExtentPrefix || value.size() != 12) return false;
  *id = coding::DecodeBigEndian64(key.data() + 1);
  e->first_revision = coding::DecodeBigEndian64(key.data() + 9);
  e->position = coding::DecodeFixed64(value.data());
  e->count = coding::DecodeFixed32(value.data() + 8);
  return true;
}

}  // namespace

std::string EncodeHead(const StreamState& s) {
  std::string v;
  v.push_back(static_cast<char>(kHeadVersion));
  coding::PutFixed64(&v, s.id);
  coding::PutFixed64(&v, s.count);
  v.push_back(static_cast<char>(s.tombstoned ? kHeadFlagTombstoned : 0));
  coding::PutLengthPrefixed(&v, s.metadata_json);
  return v;
}

bool DecodeHead(std::string_view v, StreamState* s) {
  if (v.size() < 18 || static_cast<uint8_t>(v[0]) != kHeadVersion) return false;
  v.remove_prefix(1);
  coding::GetFixed64(&v, &s->id);
  coding::GetFixed64(&v, &s->count);
  s->tombstoned = (static_cast<uint8_t>(v[0]) & kHeadFlagTombstoned) != 0;
  v.remove_prefix(1);
  std::string_view meta;
  if (!coding::GetLengthPrefixed(&v, &meta)) return false;
  s->metadata_json.assign(meta);
  return true;
}

void IndexBatch::BeginTransaction(uint64_t position, bool segment_start) {
  CloseExtent();
  if (segment_start || position >= last_sparse_ + kSparseInterval) {
    sparse_.push_back(position);
    last_sparse_ = position;
  }
}

void IndexBatch::CloseExtent() {
  if (open_) extents_.emplace_back(cur_id_, cur_);
  open_ = false;
}

void IndexBatch::AddEvent(uint64_t stream_id, uint64_t revision, uint64_t position) {
  if (open_ && stream_id == cur_id_ && revision == cur_next_rev_) {
    ++cur_.count;
    ++cur_next_rev_;
    return;
  }
  CloseExtent();
  open_ = true;
  cur_id_ = stream_id;
  cur_ = Extent{revision, position, 1};
  cur_next_rev_ = revision + 1;
}

void IndexBatch::MarkDirty(std::string_view name, StreamState* state) {
  if (state->dirty) return;
  state->dirty = true;
  dirty_.emplace_back(name, state);
}

Result<std::unique_ptr<StreamIndex>> StreamIndex::Open(const std::string& dir) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.IncreaseParallelism(2);
  opts.max_background_jobs = 2;
  opts.write_buffer_size = 64 << 20;
  opts.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Without a WAL, a crash loses unflushed memtables. With one column family, the state
  // RocksDB comes back with is a prefix of our write batches, each carrying its checkpoint.
  opts.avoid_flush_during_shutdown = false;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, &db);
  if (!s.ok()) return FromRocks(s, "open " + dir);
  std::unique_ptr<StreamIndex> index(new StreamIndex(db));
  std::string v;
  s = db->Get(rocksdb::ReadOptions(), kVersionKey, &v);
  if (s.IsNotFound()) {
    std::string enc;
    coding::PutFixed32(&enc, kIndexFormatVersion);
    rocksdb::WriteOptions wo;
    s = db->Put(wo, kVersionKey, enc);
    if (!s.ok()) return FromRocks(s, "write version");
  } else if (!s.ok()) {
    return FromRocks(s, "read version");
  } else if (v.size() != 4 || coding::DecodeFixed32(v.data()) != kIndexFormatVersion) {
    return Status::Corruption("index " + dir +
                              ": unsupported index format version; run "
                              "`kiroku admin reindex`");
  }
  return index;
}

Status StreamIndex::Destroy(const std::string& dir) {
  return FromRocks(rocksdb::DestroyDB(dir, rocksdb::Options()), "destroy " + dir);
}

StreamIndex::~StreamIndex() {
  if (db_) {
    db_->Close();
    delete db_;
  }
}

Result<IndexCheckpoint> StreamIndex::ReadCheckpoint() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kCheckpointKey, &v);
  IndexCheckpoint cp;
  if (s.IsNotFound()) return cp;
  if (!s.ok()) return FromRocks(s, "read checkpoint");
  if (v.size() != 24) return Status::Corruption("index checkpoint has a bad size");
  cp.log_end = coding::DecodeFixed64(v.data());
  cp.next_stream_id = coding::DecodeFixed64(v.data() + 8);
  cp.last_sparse = coding::DecodeFixed64(v.data() + 16);
  return cp;
}

Result<std::optional<StreamState>> StreamIndex::GetHead(std::string_view name) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), HeadKey(name), &v);
  if (s.IsNotFound()) return std::optional<StreamState>();
  if (!s.ok()) return FromRocks(s, "read head");
  StreamState st;
  if (!DecodeHead(v, &st)) {
    return Status::Corruption("index head of stream '" + std::string(name) + "' is malformed");
  }
  return std::optional<StreamState>(std::move(st));
}

Status StreamIndex::Write(IndexBatch* batch, const IndexCheckpoint& cp) {
  batch->CloseExtent();
  rocksdb::WriteBatch wb;
  for (const auto& [id, e] : batch->extents_) {
    char v[12];
    coding::EncodeFixed32(v + 8, e.count);
    std::memcpy(v, &e.position, 8);
    wb.Put(ExtentKey(id, e.first_revision), rocksdb::Slice(v, 12));
  }
  for (uint64_t p : batch->sparse_) wb.Put(SparseKey(p), rocksdb::Slice());
  for (auto& [name, st] : batch->dirty_) {
    wb.Put(HeadKey(name), EncodeHead(*st));
    st->dirty = false;
  }
  std::string c;
  coding::PutFixed64(&c, cp.log_end);
  coding::PutFixed64(&c, cp.next_stream_id);
  coding::PutFixed64(&c, cp.last_sparse);
  wb.Put(kCheckpointKey, c);
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  Status s = FromRocks(db_->Write(wo, &wb), "write");
  batch->extents_.clear();
  batch->sparse_.clear();
  batch->dirty_.clear();
  return s;
}

Status StreamIndex::Flush() { return FromRocks(db_->Flush(rocksdb::FlushOptions()), "flush"); }

Status StreamIndex::ExtentsForward(uint64_t stream_id, uint64_t from_revision,
                                   const std::function<bool(const Extent&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string key = ExtentKey(stream_id, from_revision);
  it->SeekForPrev(key);
  uint64_t id;
  Extent e;
  if (!it->Valid() || !DecodeExtent(it->key(), it->value(), &id, &e) || id != stream_id) {
    it->Seek(key);
  }
  for (; it->Valid(); it->Next()) {
    if (!DecodeExtent(it->key(), it->value(), &id, &e) || id != stream_id) break;
    if (!fn(e)) break;
  }
  return FromRocks(it->status(), "iterate extents");
}

Status StreamIndex::ExtentsBackward(uint64_t stream_id, uint64_t from_revision,
                                    const std::function<bool(const Extent&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  uint64_t id;
  Extent e;
  for (it->SeekForPrev(ExtentKey(stream_id, from_revision)); it->Valid(); it->Prev()) {
    if (!DecodeExtent(it->key(), it->value(), &id, &e) || id != stream_id) break;
    if (!fn(e)) break;
  }
  return FromRocks(it->status(), "iterate extents");
}

Result<std::optional<uint64_t>> StreamIndex::SparseAtOrBefore(uint64_t position) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(SparseKey(position));
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == kSparsePrefix) {
    return std::optional<uint64_t>(coding::DecodeBigEndian64(it->key().data() + 1));
  }
  KIROKU_RETURN_IF_ERROR(FromRocks(it->status(), "iterate sparse"));
  return std::optional<uint64_t>();
}

Status StreamIndex::ForEachHead(
    const std::function<bool(std::string_view, const StreamState&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix(1, kHeadPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    StreamState st;
    std::string_view name(it->key().data() + 1, it->key().size() - 1);
    if (!DecodeHead(std::string_view(it->value().data(), it->value().size()), &st)) {
      return Status::Corruption("index head of stream '" + std::string(name) + "' is malformed");
    }
    if (!fn(name, st)) break;
  }
  return FromRocks(it->status(), "iterate heads");
}

Status StreamIndex::ForEachExtent(const std::function<bool(uint64_t, const Extent&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix(1, kExtentPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    uint64_t id;
    Extent e;
    if (!DecodeExtent(it->key(), it->value(), &id, &e)) {
      return Status::Corruption("index extent entry is malformed");
    }
    if (!fn(id, e)) break;
  }
  return FromRocks(it->status(), "iterate extents");
}

}  // namespace kiroku
