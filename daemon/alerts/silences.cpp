#include "alerts/silences.hpp"

#include <algorithm>

namespace tend::alerts {

void Silences::restore(const std::vector<state::SilenceRecord>& records, WallTime now) {
  for (const auto& s : records) {
    if (s.until > now) {
      silences_[s.target] = s;
    }
  }
}

void Silences::add(const state::SilenceRecord& s) { silences_[s.target] = s; }

std::vector<std::string> Silences::remove(const std::function<bool(const state::SilenceRecord&)>& which) {
  std::vector<std::string> gone;
  for (const auto& [t, s] : silences_) {
    if (which(s)) {
      gone.push_back(t);
    }
  }
  for (const auto& t : gone) {
    silences_.erase(t);
  }
  return gone;
}

std::optional<WallTime> Silences::until(const std::string& name, WallTime now) const {
  std::optional<WallTime> out;
  for (const std::string& target : {name, std::string("*")}) {
    auto it = silences_.find(target);
    if (it != silences_.end() && it->second.until > now) {
      out = out ? std::max(*out, it->second.until) : it->second.until;
    }
  }
  return out;
}

std::optional<WallTime> Silences::next_end() const {
  std::optional<WallTime> next;
  for (const auto& [t, s] : silences_) {
    next = next ? std::min(*next, s.until) : s.until;
  }
  return next;
}

}  // namespace tend::alerts
