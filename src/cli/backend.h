// Where a CLI command sends its work: an embedded store (--data DIR) or a server (--url).
// Both speak the same value types, so each command is written once.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "kiroku/client.h"
#include "kiroku/store.h"

namespace kiroku::cli {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                                      std::vector<EventData> events) = 0;
  virtual Result<std::vector<RecordedEvent>> ReadStream(const std::string& stream,
                                                        const ReadStreamOptions& o) = 0;
  virtual Result<ReadAllResult> ReadAll(const ReadAllOptions& o) = 0;
  virtual Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision e) = 0;
  virtual Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision e) = 0;
  virtual Result<StreamMetadataResult> GetStreamMetadata(const std::string& stream) = 0;
  virtual Result<AppendResult> SetStreamMetadata(const std::string& stream, ExpectedRevision e,
                                                 const StreamMetadata& m) = 0;
  // Catch-up then live until the handler returns false or `stop` is set.
  virtual Status Subscribe(const SubscribeRequest& r,
                           const std::function<bool(const SubscriptionMessage&)>& handler,
                           const std::atomic<bool>* stop) = 0;
};

struct BackendFlags {
  std::string url;       // esdb://... ; wins over data_dir
  std::string data_dir;  // embedded store
  std::string durability = "sync";
};

// "give --url or --data" if neither is set.
Result<std::unique_ptr<Backend>> OpenBackend(const BackendFlags& flags);

// Registers --url / --data / --durability on a command.
void AddBackendFlags(CLI::App* cmd, BackendFlags* flags);

}  // namespace kiroku::cli
