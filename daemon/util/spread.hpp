#pragma once
// Spreading periodic work over its whole interval, chrony-style (SCH_AddTimeoutInClass: a phase
// per source, a minimum separation within a class), so a thousand probes at 30 s do not fire in
// the same millisecond and a restart or reload does not move them: the phase is a stable hash of
// the name, nudged only to keep the members of a class apart.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "util/duration.hpp"
#include "util/time.hpp"

namespace tend {

class Spread {
 public:
  /// The offset in [0, interval) at which `key`'s periodic work runs, kept at least
  /// interval / (2 * members) (at most 1 s) from the other members with the same interval while
  /// that is possible. The same key gets the same offset until released.
  Duration place(const std::string& key, Duration interval);
  /// Forget `key` (the entry was removed or its interval changed).
  void release(const std::string& key);

  /// The stable, unseparated phase of `key` in [0, interval): a hash of the name.
  static Duration phase(std::string_view key, Duration interval);

 private:
  struct Placed {
    Duration interval;
    Duration offset;
  };
  std::map<std::string, Placed> placed_;
  std::map<Duration, std::multiset<Duration>> classes_;  // interval -> offsets in use
};

/// The most a periodic wake-up is delayed to share the loop's wake-up with others (coalesce()).
inline constexpr Duration kTimerSlack{100};

/// `at` rounded up to the grid of the timer slack on the monotonic clock: min(kTimerSlack,
/// interval / 10), so 100 ms at 1 s and over, 30 ms at 300 ms. Periodic work due within a slack
/// of each other then wakes the loop once (systemd's AccuracySec=, the kernel's timer slack): at
/// 100 probes a second, spread by place(), a wake-up each, the context switches were the largest
/// part of tendd's CPU; with the slack the loop wakes 10 times a second (1.92 % -> 0.50 % CPU,
/// bench/README.md, issue 14). The work's own grid does not move: it runs late by the same amount
/// each time, at most the slack.
MonoTime coalesce(MonoTime at, Duration interval);

}  // namespace tend
