#pragma once
// How late the event loop runs timers: a timer is armed every `interval`, and each time it fires
// the delay past its due time is observed. A loop blocked for 300 ms by a slow handler shows up
// as one observation near 0.3 s in tend_loop_lag_seconds.

#include <chrono>
#include <memory>

#include "metrics/exposition.hpp"
#include "util/clock.hpp"

namespace tend::metrics {

class LoopLag {
 public:
  explicit LoopLag(Clock& clock, std::chrono::milliseconds interval = std::chrono::milliseconds(500),
                   BucketsPtr buckets = lag_buckets());
  ~LoopLag();
  LoopLag(const LoopLag&) = delete;
  LoopLag& operator=(const LoopLag&) = delete;

  /// Start measuring (again); harmless when already started.
  void start();
  void stop();

  [[nodiscard]] const Histogram& histogram() const { return histogram_; }
  /// The latest lateness observed.
  [[nodiscard]] std::chrono::nanoseconds last() const { return last_; }
  /// When the timer last fired (monotonic); a loop that stopped turning stops moving it.
  [[nodiscard]] MonoTime last_tick() const { return last_tick_; }

  /// Write the tend_loop_lag_seconds family.
  void write(Writer& w) const;

 private:
  void arm();
  void fire();

  Clock& clock_;
  std::chrono::milliseconds interval_;
  Histogram histogram_;
  MonoTime due_{};
  MonoTime last_tick_{};
  std::chrono::nanoseconds last_{0};
  std::unique_ptr<TimerHandle> timer_;
};

}  // namespace tend::metrics
