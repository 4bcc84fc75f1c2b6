#include "cli/store_flags.h"

namespace kiroku::cli {

void AddStoreFlags(CLI::App* cmd, StoreFlags* flags) {
  cmd->add_option("--url", flags->url,
                  "Server connection string, e.g. esdb://127.0.0.1:2113?tls=false")
      ->envname("KIROKU_URL");
  cmd->add_option("--data", flags->data_dir, "Data directory of an embedded store (no server)");
  cmd->add_option("--durability", flags->durability, "Embedded: sync | interval | none")
      ->default_val("sync");
}

Result<Durability> ParseDurability(const std::string& name) {
  if (name == "sync") return Durability::kSyncEveryGroup;
  if (name == "interval") return Durability::kSyncInterval;
  if (name == "none") return Durability::kNoSync;
  return Status::InvalidArgument("--durability must be sync, interval or none");
}

Result<std::string> EventStoreTarget(const StoreFlags& flags) {
  if (!flags.url.empty()) return flags.url;
  if (flags.data_dir.empty()) {
    return Status::InvalidArgument(
        "give --url esdb://host:2113?tls=false (a server) or --data DIR (embedded)");
  }
  return "embedded:" + flags.data_dir;
}

Result<std::unique_ptr<EventStore>> OpenEventStoreForCli(const StoreFlags& flags) {
  KIROKU_ASSIGN_OR_RETURN(std::string target, EventStoreTarget(flags));
  StoreOptions options;
  KIROKU_ASSIGN_OR_RETURN(options.durability, ParseDurability(flags.durability));
  return OpenEventStore(target, options);
}

}  // namespace kiroku::cli
