#include "util/spread.hpp"

#include <algorithm>

namespace tend {

Duration Spread::phase(std::string_view key, Duration interval) {
  if (interval.count() <= 0) {
    return Duration(0);
  }
  // FNV-1a: stable across runs and builds (std::hash is neither promised).
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return Duration(static_cast<std::int64_t>(h % static_cast<std::uint64_t>(interval.count())));
}

Duration Spread::place(const std::string& key, Duration interval) {
  if (auto it = placed_.find(key); it != placed_.end()) {
    if (it->second.interval == interval) {
      return it->second.offset;
    }
    release(key);
  }
  auto& used = classes_[interval];
  const std::int64_t span = std::max<std::int64_t>(interval.count(), 1);
  const std::int64_t members = static_cast<std::int64_t>(used.size()) + 1;
  const std::int64_t separation = std::clamp<std::int64_t>(span / (2 * members), 0, 1000);
  std::int64_t offset = phase(key, interval).count();
  // Walk forward (wrapping) from the hashed phase to the first slot `separation` away from its
  // neighbours; give up after one lap (more members than slots: the hash alone spreads them).
  for (std::int64_t walked = 0; separation > 0 && walked < span; walked += separation) {
    const auto candidate = (offset + walked) % span;
    auto next = used.lower_bound(Duration(candidate));
    const bool clear_after = next == used.end() || next->count() - candidate >= separation;
    const bool clear_before = next == used.begin() || candidate - std::prev(next)->count() >= separation;
    // The class wraps around: the first and last offsets are neighbours too.
    const bool clear_wrap = used.empty() || (candidate + span - used.rbegin()->count() >= separation &&
                                             used.begin()->count() + span - candidate >= separation);
    if (clear_after && clear_before && clear_wrap) {
      offset = candidate;
      break;
    }
  }
  used.insert(Duration(offset));
  placed_[key] = Placed{interval, Duration(offset)};
  return Duration(offset);
}

void Spread::release(const std::string& key) {
  auto it = placed_.find(key);
  if (it == placed_.end()) {
    return;
  }
  auto cls = classes_.find(it->second.interval);
  if (cls != classes_.end()) {
    if (auto one = cls->second.find(it->second.offset); one != cls->second.end()) {
      cls->second.erase(one);
    }
    if (cls->second.empty()) {
      classes_.erase(cls);
    }
  }
  placed_.erase(it);
}

MonoTime coalesce(MonoTime at, Duration interval) {
  const auto slack = std::chrono::duration_cast<MonoTime::duration>(std::min(kTimerSlack, interval / 10));
  if (slack <= MonoTime::duration::zero()) {
    return at;
  }
  const auto past = at.time_since_epoch() % slack;
  return past == MonoTime::duration::zero() ? at : at + (slack - past);
}

}  // namespace tend
