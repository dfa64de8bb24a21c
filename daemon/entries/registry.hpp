#pragma once
// The index of every entry of the configuration in force, whatever its kind: built at start from
// the saved state, brought to a reloaded configuration (unchanged entries keep their state and
// timers), and iterated by everything that means "every entry" (status, history, pause, alerting,
// metrics, shutdown). Nothing here names a kind.

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "entries/entry.hpp"
#include "entries/kind.hpp"
#include "entries/services.hpp"
#include "state/store.hpp"

namespace tend::entries {

/// What a reload changed, by entry name.
struct Diff {
  std::vector<std::string> added;
  std::vector<std::string> changed;
  std::vector<std::string> removed;
};

class Registry {
 public:
  Registry(Services& services, std::span<const KindSpec* const> kinds);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Build and start every entry of the first configuration, each with what `loaded` saved about
  /// it. Returns the scheduled ticks missed while the daemon was down.
  int start(const std::vector<config::EntryConfig>& entries, const state::Loaded& loaded);
  /// Bring the entries to a reloaded, validated configuration.
  Diff apply(const std::vector<config::EntryConfig>& entries);
  /// Re-plan every wall-clock timer (the wall clock stepped).
  void replan();
  /// Stop every entry; `done` once none has anything running.
  void shutdown(std::function<void()> done);
  /// The longest stop_grace() of any entry: how long shutdown() may take.
  [[nodiscard]] Duration stop_grace() const;

  /// The entry named `name`, or nullptr.
  [[nodiscard]] std::shared_ptr<Entry> find(std::string_view name) const;
  /// Every entry: by kind in registration order, then by name.
  [[nodiscard]] std::vector<std::shared_ptr<Entry>> all() const;
  /// How many entries of `kind` there are.
  [[nodiscard]] std::size_t count(std::string_view kind) const;
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  /// The kind a socket command is aimed at ("job" for "run"), or "entry".
  [[nodiscard]] std::string_view kind_for(std::string_view command) const;
  /// The registered kinds, in order.
  [[nodiscard]] std::span<const KindSpec* const> kinds() const { return kinds_; }

 private:
  [[nodiscard]] const KindSpec* kind_of(std::string_view kind) const;
  std::shared_ptr<Entry> make(const config::EntryConfig& cfg) const;

  Services& services_;
  std::span<const KindSpec* const> kinds_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
};

}  // namespace tend::entries
