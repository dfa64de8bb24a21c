#pragma once
// YAML -> Config, with every rule of SPEC's "Config file" section. All errors are collected,
// each with file:line:column and the key path. Callable on a byte buffer (fuzzing).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"

namespace tend::config {

struct Plugins;

struct ConfigError {
  Position pos;
  std::string key_path;  // "jobs.backup.timeout"
  std::string message;
  /// "tend.yaml:12:14: jobs.backup.timeout: duration '300' has no unit: did you mean 300s?"
  [[nodiscard]] std::string to_string() const;
};

/// The outside world the loader reads: environment, files, credentials, includes. Tests replace it.
struct Sources {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<std::optional<std::string>(const std::string& path)> read_file;
  std::function<std::vector<std::string>(const std::string& pattern)> glob;  // sorted matches
  std::string credentials_dir;                                               // $CREDENTIALS_DIRECTORY; empty = none
  std::string hostname;                                                      // default daemon.host
  /// Tests: told of every key a reader looks for, with the path of its map ("jobs.backup"), so
  /// that the documentation can be checked against what the reader really knows.
  std::function<void(const std::string& map_path, std::string_view key)> on_key;

  /// The real process environment and file system.
  static Sources system();
};

struct LoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // in file order
};

/// Load and validate the file at `path` (and its includes), reading entry sections and notifier
/// types with the readers in `plugins`.
LoadResult load_file(const std::string& path, const Sources& sources, const Plugins& plugins);

/// Load and validate YAML text already in memory; `file_name` is used in error positions.
LoadResult load_text(std::string_view yaml, const std::string& file_name, const Sources& sources,
                     const Plugins& plugins);

}  // namespace tend::config
