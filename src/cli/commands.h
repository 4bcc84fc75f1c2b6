// The `kiroku` command line: each subcommand lives in its own file and registers itself
// on the CLI11 app here. Output is human-readable by default, JSON with --json.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "kiroku/store.h"

namespace kiroku::cli {

// Runs after parsing; returns the process exit code.
using Action = std::function<int()>;

void AddAdminCommands(CLI::App& app, Action* action);
void AddAppendCommand(CLI::App& app, Action* action);
void AddReadCommand(CLI::App& app, Action* action);
void AddDemoCommand(CLI::App& app, Action* action);
void AddServeCommand(CLI::App& app, Action* action);
void AddStreamCommands(CLI::App& app, Action* action);
void AddBenchCommand(CLI::App& app, Action* action);
void AddGroupCommands(CLI::App& app, Action* action);       // group_command.cc
void AddProjectionCommands(CLI::App& app, Action* action);  // projection_command.cc

// Shared helpers.
Result<std::unique_ptr<Store>> OpenStoreForCli(const std::string& dir,
                                               const std::string& durability);
int PrintError(const Status& s);
Result<ExpectedRevision> ParseExpected(
    const std::string& s);  // prints to stderr, returns the exit code for it
std::string EventToJson(const RecordedEvent& e);
std::string EventToHuman(const RecordedEvent& e);

}  // namespace kiroku::cli
