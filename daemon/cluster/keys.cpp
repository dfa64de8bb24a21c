#include "cluster/keys.hpp"

namespace tend::cluster {

std::string tick_id(WallTime t) { return format_iso8601(t); }

Keys::Keys(std::string prefix) : prefix_(std::move(prefix)) {
  if (prefix_.empty() || prefix_.back() != '/') {
    prefix_ += '/';
  }
}

std::optional<std::pair<std::string, std::string>> Keys::split(std::string_view key, std::string_view section) {
  if (key.substr(0, section.size()) != section) {
    return std::nullopt;
  }
  key.remove_prefix(section.size());
  const auto slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size()) {
    return std::nullopt;
  }
  return std::make_pair(std::string(key.substr(0, slash)), std::string(key.substr(slash + 1)));
}

std::optional<std::string> Keys::job_of_marker(std::string_view key) const {
  const std::string section = jobs();
  constexpr std::string_view suffix = "/last_tick";
  if (key.size() <= section.size() + suffix.size() || key.substr(0, section.size()) != section ||
      key.substr(key.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  return std::string(key.substr(section.size(), key.size() - section.size() - suffix.size()));
}

}  // namespace tend::cluster
