// kiroku: one binary, subcommands, --help everywhere.
#include "cli/commands.h"

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
  CLI11_PARSE(app, argc, argv);
  return action ? action() : 0;
}
