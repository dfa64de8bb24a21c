#pragma once
// The pause of one entry (`tend pause NAME [--for 10m]`, `tend resume NAME`): held, maybe until a
// time, with the timer that ends a timed pause by itself. Jobs, probes, watches and checks each
// own one and keep only what resuming means for them.

#include <functional>
#include <memory>
#include <optional>

#include "util/clock.hpp"

namespace tend {

class Pause {
 public:
  /// Hold (again). With `until`, `on_end` runs then: it should call the owner's resume().
  void hold(Clock& clock, std::optional<WallTime> until, std::function<void()> on_end) {
    held_ = true;
    until_ = until;
    timer_.reset();
    if (until) {
      const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*until - clock.now());
      timer_ = clock.call_after(std::max(delay, std::chrono::milliseconds(0)), std::move(on_end));
    }
  }
  /// End it; true when it was held (the owner logs and runs its resume hooks).
  bool release() {
    const bool was = held_;
    held_ = false;
    until_.reset();
    timer_.reset();
    return was;
  }
  /// Held and not past its end.
  [[nodiscard]] bool active(WallTime now) const { return held_ && (!until_ || now < *until_); }
  [[nodiscard]] const std::optional<WallTime>& until() const { return until_; }
  /// Stop the timer (the owner is retiring); the state stays for status.
  void cancel() { timer_.reset(); }

 private:
  bool held_ = false;
  std::optional<WallTime> until_;
  std::unique_ptr<TimerHandle> timer_;
};

}  // namespace tend
