#pragma once
// Log formats of watches: each is one file (combined.cpp, json.cpp) defining one LogFormat — its
// name for `format:`, the keys of the watch it reads, and the parser it builds. formats.cpp holds
// the only list of them.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace tend::watches {

/// Reads the HTTP status out of one access-log line.
class LineParser {
 public:
  virtual ~LineParser() = default;
  /// The status of `line`, or nullopt when it cannot be parsed.
  [[nodiscard]] virtual std::optional<int> status(std::string_view line) const = 0;
};

struct LogFormat {
  std::string_view name;               // `format: NAME`
  std::vector<std::string_view> keys;  // the keys of the watch it reads
  /// Read the format's own keys of the watch's mapping (e.g. `status_field`).
  std::function<std::shared_ptr<const config::EntrySettings>(config::MapReader& watch)> read;
  std::function<std::unique_ptr<LineParser>(const config::EntrySettings& settings)> make;
};

/// Every log format, in table order.
std::span<const LogFormat* const> formats();

/// The format named `name`, or nullptr.
const LogFormat* find_format(std::string_view name);

}  // namespace tend::watches
