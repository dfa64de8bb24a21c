#pragma once
// The time seam: production code reads time and sets timers only through a Clock&, so tests can
// step virtual time (ManualClock in tests/support) instead of sleeping.

#include <functional>
#include <memory>

#include "util/time.hpp"

namespace boost::asio {
class io_context;
}

namespace tend {

/// A pending one-shot timer; cancel() or destruction guarantees the callback will not run.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time (may step: NTP, date -s).
  [[nodiscard]] virtual WallTime now() const = 0;
  /// Monotonic time, for intervals and deadlines.
  [[nodiscard]] virtual MonoTime mono_now() const = 0;
  /// Run fn on the loop at the monotonic time `when` (at once if it has passed).
  [[nodiscard]] virtual std::unique_ptr<TimerHandle> call_at(MonoTime when, std::function<void()> fn) = 0;
  /// Run fn after `delay`.
  [[nodiscard]] std::unique_ptr<TimerHandle> call_after(std::chrono::milliseconds delay, std::function<void()> fn) {
    return call_at(mono_now() + delay, std::move(fn));
  }
};

/// The real clocks, with timers on an io_context.
class SystemClock final : public Clock {
 public:
  explicit SystemClock(boost::asio::io_context& io) : io_(io) {}
  [[nodiscard]] WallTime now() const override;
  [[nodiscard]] MonoTime mono_now() const override;
  [[nodiscard]] std::unique_ptr<TimerHandle> call_at(MonoTime when, std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace tend
