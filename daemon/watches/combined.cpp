// `format: combined`: nginx/apache "combined" (or "common") access-log lines.

#include "watches/format.hpp"
#include "watches/parse.hpp"

namespace tend::watches {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// A status right at `i`: three digits followed by a space or the end of the line.
std::optional<int> status_at(std::string_view s, std::size_t i) {
  if (i + 3 > s.size() || !is_digit(s[i]) || !is_digit(s[i + 1]) || !is_digit(s[i + 2])) {
    return std::nullopt;
  }
  if (i + 3 < s.size() && s[i + 3] != ' ') {
    return std::nullopt;
  }
  return valid_status((s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0'));
}

/// The status after the closing quote at `quote`: `" 502 `.
std::optional<int> status_after_quote(std::string_view s, std::size_t quote) {
  std::size_t i = quote + 1;
  if (i >= s.size() || s[i] != ' ') {
    return std::nullopt;
  }
  while (i < s.size() && s[i] == ' ') {
    ++i;
  }
  return status_at(s, i);
}

class CombinedParser final : public LineParser {
 public:
  [[nodiscard]] std::optional<int> status(std::string_view line) const override { return parse_combined(line); }
};

struct CombinedSettings : config::Settings<CombinedSettings> {
  bool operator==(const CombinedSettings&) const = default;
};

}  // namespace

std::optional<int> parse_combined(std::string_view s) {
  const auto open_time = s.find('[');
  if (open_time == std::string_view::npos) {
    return std::nullopt;
  }
  const auto close_time = s.find(']', open_time);
  if (close_time == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t i = close_time + 1;
  while (i < s.size() && s[i] == ' ') {
    ++i;
  }
  if (i >= s.size() || s[i] != '"') {
    return std::nullopt;
  }
  const std::size_t request = i + 1;
  // The request ends at the first quote not escaped by a backslash (apache writes \" and \\;
  // nginx writes \x22).
  for (i = request; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      break;
    }
  }
  if (i >= s.size()) {
    return std::nullopt;
  }
  if (auto status = status_after_quote(s, i)) {
    return status;
  }
  // A request with a raw quote in it (nginx with escape=none): the status follows a later quote.
  for (auto q = s.find('"', i + 1); q != std::string_view::npos; q = s.find('"', q + 1)) {
    if (auto status = status_after_quote(s, q)) {
      return status;
    }
  }
  return std::nullopt;
}

extern const LogFormat combined_format;
const LogFormat combined_format{
    "combined",
    {},
    [](config::MapReader& /*watch*/) -> std::shared_ptr<const config::EntrySettings> {
      return std::make_shared<CombinedSettings>();
    },
    [](const config::EntrySettings& /*settings*/) -> std::unique_ptr<LineParser> {
      return std::make_unique<CombinedParser>();
    },
};

}  // namespace tend::watches
