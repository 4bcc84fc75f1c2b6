// Where a CLI command sends its work: a server (--url) or an embedded store (--data DIR),
// chosen by opening the one public EventStore interface (include/kiroku/event_store.h), so
// each command is written once and behaves as an application using kiroku would.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "kiroku/event_store.h"
#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku::cli {

struct StoreFlags {
  std::string url;       // esdb://... ; wins over data_dir
  std::string data_dir;  // embedded store
  std::string durability = "sync";
};

// Registers --url (or $KIROKU_URL) / --data / --durability on a command.
void AddStoreFlags(CLI::App* cmd, StoreFlags* flags);

// "sync" | "interval" | "none" -> Durability; InvalidArgument naming the flag otherwise.
Result<Durability> ParseDurability(const std::string& name);

// The OpenEventStore target the flags name: the URL as given, or "embedded:DIR".
// InvalidArgument ("give --url ... or --data DIR") if neither is set.
Result<std::string> EventStoreTarget(const StoreFlags& flags);

// Opens the EventStore the flags name (OpenEventStore with the durability for embedded).
Result<std::unique_ptr<EventStore>> OpenEventStoreForCli(const StoreFlags& flags);

}  // namespace kiroku::cli
