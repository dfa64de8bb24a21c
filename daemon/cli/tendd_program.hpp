#pragma once
// tendd's command line: the flags, their help and the tendd(8) man page, from one ProgramSpec.

#include <optional>
#include <string>

#include "cli/spec.hpp"

namespace tend::cli {

/// What tendd was asked to do.
struct DaemonFlags {
  std::string config = "/etc/tend/tend.yaml";
  bool check = false;  // validate and exit 0/1
};

/// Parsed flags, or the exit code when parsing already answered (help, version, man page,
/// usage error).
struct DaemonParse {
  std::optional<int> exit;
  DaemonFlags flags;
};

/// tendd's flags and man page.
const ProgramSpec& tendd_program();

/// Parse tendd's argv; `--version` prints `version`, `--generate man` the man page.
DaemonParse parse_daemon_flags(int argc, const char* const* argv, const std::string& version);

}  // namespace tend::cli
