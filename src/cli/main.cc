// kiroku: one binary, subcommands, --help everywhere.
#include "cli/commands.h"
#include "cli/config_file.h"

int main(int argc, char** argv) {
  CLI::App app{"kiroku - an event-sourcing database"};
  app.require_subcommand(1);
  kiroku::cli::Action action;
  kiroku::cli::AddAppendCommand(app, &action);
  kiroku::cli::AddReadCommand(app, &action);
  kiroku::cli::AddAdminCommands(app, &action);
  kiroku::cli::AddDemoCommand(app, &action);
  kiroku::cli::AddServeCommand(app, &action);
  kiroku::cli::AddStreamCommands(app, &action);
  kiroku::cli::AddBenchCommand(app, &action);
  kiroku::cli::AddProjectionCommands(app, &action);
  kiroku::cli::AddGroupCommands(app, &action);
  // The config file only fills KIROKU_* variables not already set; CLI11 reads those.
  if (std::string config = kiroku::cli::FindConfigArg(argc, argv); !config.empty()) {
    kiroku::Status s = kiroku::cli::ApplyConfigFile(config);
    if (!s.ok()) return kiroku::cli::PrintError(s);
  }
  CLI11_PARSE(app, argc, argv);
  return action ? action() : 0;
}
