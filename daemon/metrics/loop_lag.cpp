#include "metrics/loop_lag.hpp"

namespace tend::metrics {

LoopLag::LoopLag(Clock& clock, std::chrono::milliseconds interval, BucketsPtr buckets)
    : clock_(clock), interval_(interval), histogram_(std::move(buckets)) {}

LoopLag::~LoopLag() { stop(); }

void LoopLag::start() {
  if (timer_) {
    return;
  }
  due_ = clock_.mono_now() + interval_;
  last_tick_ = clock_.mono_now();
  arm();
}

void LoopLag::stop() { timer_.reset(); }

void LoopLag::arm() {
  timer_ = clock_.call_at(due_, [this] { fire(); });
}

void LoopLag::fire() {
  const auto now = clock_.mono_now();
  last_ = std::max(std::chrono::nanoseconds(0), std::chrono::duration_cast<std::chrono::nanoseconds>(now - due_));
  last_tick_ = now;
  histogram_.observe(std::chrono::duration<double>(last_).count());
  // Keep the beat on the original grid so the timer's own scheduling cost does not accumulate;
  // after a long stall start a new grid instead of firing a burst of catch-up ticks, which
  // would record one stall as many.
  due_ += interval_;
  if (due_ <= now) {
    due_ = now + interval_;
  }
  arm();
}

void LoopLag::write(Writer& w) const {
  w.family("tend_loop_lag_seconds", "How late the event loop ran a timer past its due time.", Type::histogram);
  w.histogram({}, histogram_);
}

}  // namespace tend::metrics
