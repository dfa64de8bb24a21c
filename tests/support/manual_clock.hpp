#pragma once
// A Clock whose time moves only when the test says so. Timers run, in due order, inside
// advance(); nothing sleeps.

#include <map>
#include <memory>

#include "util/clock.hpp"

namespace tend::testing {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime start) : wall_(start), mono_(MonoTime{} + std::chrono::hours(1000)) {}

  [[nodiscard]] WallTime now() const override { return wall_; }
  [[nodiscard]] MonoTime mono_now() const override { return mono_; }

  std::unique_ptr<TimerHandle> call_at(MonoTime when, std::function<void()> fn) override {
    auto entry = std::make_shared<Entry>();
    entry->fn = std::move(fn);
    timers_.emplace(std::max(when, mono_), entry);
    return std::make_unique<Handle>(entry);
  }

  /// Move both clocks forward by d, running every timer that falls due, at its due time.
  /// Microseconds, so a benchmark can space a storm of events finer than the millisecond.
  void advance(std::chrono::microseconds d) {
    const auto end = mono_ + d;
    while (!timers_.empty() && timers_.begin()->first <= end) {
      auto [when, entry] = *timers_.begin();
      timers_.erase(timers_.begin());
      if (when > mono_) {  // a timer that fell due during stall() runs now, late
        wall_ += when - mono_;
        mono_ = when;
      }
      if (entry->fn) {
        auto fn = std::move(entry->fn);
        entry->fn = nullptr;
        fn();
      }
    }
    wall_ += end - mono_;
    mono_ = end;
  }

  /// Move both clocks forward by d without running anything: the process was stopped (SIGSTOP,
  /// a suspended machine) or its loop stalled. The next advance() runs what fell due, late.
  void stall(std::chrono::microseconds d) {
    wall_ += d;
    mono_ += d;
  }

  /// Step only the wall clock (NTP step, date -s).
  void step_wall(std::chrono::microseconds d) { wall_ += d; }

  /// Timers still pending (not cancelled).
  [[nodiscard]] std::size_t pending() const {
    std::size_t n = 0;
    for (const auto& [when, e] : timers_) {
      n += e->fn ? 1 : 0;
    }
    return n;
  }

 private:
  struct Entry {
    std::function<void()> fn;
  };
  struct Handle final : TimerHandle {
    explicit Handle(std::shared_ptr<Entry> e) : entry(std::move(e)) {}
    ~Handle() override { cancel(); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    void cancel() override { entry->fn = nullptr; }
    std::shared_ptr<Entry> entry;
  };

  WallTime wall_;
  MonoTime mono_;
  std::multimap<MonoTime, std::shared_ptr<Entry>> timers_;
};

}  // namespace tend::testing
