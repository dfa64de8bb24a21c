#pragma once
// Silences (`tend silence NAME|--all --for D`): which entries' notifications are muted until when.
// Pure: the engine persists them and arms the timer that ends them.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "state/store.hpp"

namespace tend::alerts {

class Silences {
 public:
  /// Those of the previous instance that have not ended by `now`.
  void restore(const std::vector<state::SilenceRecord>& records, WallTime now);
  /// Mute `target` (an entry name, or "*" for all); replaces an earlier silence of it.
  void add(const state::SilenceRecord& s);
  /// Remove the silences `which` selects; their targets.
  std::vector<std::string> remove(const std::function<bool(const state::SilenceRecord&)>& which);
  /// When the mute on `name` ends (the later of its own and the global one), if muted at `now`.
  [[nodiscard]] std::optional<WallTime> until(const std::string& name, WallTime now) const;
  [[nodiscard]] bool muted(const std::string& name, WallTime now) const { return until(name, now).has_value(); }
  /// When the next silence ends.
  [[nodiscard]] std::optional<WallTime> next_end() const;
  [[nodiscard]] const std::map<std::string, state::SilenceRecord>& all() const { return silences_; }

 private:
  std::map<std::string, state::SilenceRecord> silences_;
};

}  // namespace tend::alerts
