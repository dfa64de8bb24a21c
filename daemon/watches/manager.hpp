#pragma once
// All watches of the current configuration: builds them, applies reloads (added / changed /
// removed; unchanged ones keep their window and state), and finds them for the socket.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/entries.hpp"
#include "watches/watch.hpp"

namespace tend::watches {

using Diff = tend::Diff;

class Manager {
 public:
  explicit Manager(Context& ctx) : ctx_(ctx) {}

  /// First configuration at start-up: follow every file.
  void start(const std::vector<config::WatchConfig>& watches);
  /// Apply a new, validated configuration.
  Diff apply(const std::vector<config::WatchConfig>& watches);
  /// Stop following and evaluating (the daemon stops).
  void shutdown();

  /// The watch named `name`, or nullptr.
  [[nodiscard]] std::shared_ptr<Watch> find(const std::string& name) const;
  /// Watches in name order.
  [[nodiscard]] std::vector<std::shared_ptr<Watch>> all() const;

 private:
  Context& ctx_;
  std::map<std::string, std::shared_ptr<Watch>> watches_;
};

}  // namespace tend::watches
