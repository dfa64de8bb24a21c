#pragma once
// crontab -> tend.yaml: the converter behind `tend import-crontab`. A pure function of the text
// (and of a user lookup it is given): it reads nothing and prints nothing itself.

#include <functional>
#include <string>
#include <string_view>

namespace tend::crontab {

/// Which crontab format the text is in.
enum class Format {
  detect,  // system when every job line's sixth field is a user (Options::is_user), else user
  user,    // m h dom mon dow command
  system,  // m h dom mon dow user command (/etc/crontab, /etc/cron.d/*)
};

struct Options {
  Format format = Format::detect;
  std::string user;    // a user crontab's owner: `user:` on every job (empty: none)
  std::string source;  // where the text came from, for the header comment
  /// Whether `name` is a user of this system; only format detection asks. Unset: never.
  std::function<bool(std::string_view name)> is_user;
};

struct Result {
  std::string yaml;              // a config with a `jobs:` section; passes `tendd --check`
  int jobs = 0;                  // jobs written
  int unmapped = 0;              // job or setting lines kept as comments because they could not be mapped
  Format format = Format::user;  // the format the text was read in
};

/// Convert a crontab. Comments and blank lines are kept in place; every line that cannot be
/// mapped is kept as a comment starting `# tend: ` with the reason, followed by the line.
Result convert(std::string_view text, const Options& options);

}  // namespace tend::crontab
