// `--config FILE` for `kiroku serve`: a TOML-style file of `key = value` lines whose keys are
// the flag names (`port = 2113`, `http-port = 2114`, `data = "/var/lib/kiroku"`). Each key is
// exported as the matching KIROKU_* environment variable unless that is already set, so the
// precedence is: flag > environment > config file > default. Comments (#) and [sections]
// are ignored.
#pragma once

#include <string>

#include "kiroku/status.h"

namespace kiroku::cli {

Status ApplyConfigFile(const std::string& path);
// Finds `--config F` / `--config=F` in argv; empty if absent.
std::string FindConfigArg(int argc, char** argv);

}  // namespace kiroku::cli
