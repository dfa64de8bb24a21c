#include "util/clock.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace tend {
namespace {

class AsioTimer final : public TimerHandle {
 public:
  AsioTimer(boost::asio::io_context& io, MonoTime when, std::function<void()> fn)
      : state_(std::make_shared<State>(io, std::move(fn))) {
    state_->timer.expires_at(when);
    // The handler holds the state, not this handle: a handle destroyed before the timer fires
    // clears fn, and the aborted or late completion then does nothing.
    state_->timer.async_wait([s = state_](const boost::system::error_code& ec) {
      if (!ec && s->fn) {
        auto callback = std::move(s->fn);
        s->fn = nullptr;
        callback();
      }
    });
  }
  ~AsioTimer() override { cancel(); }
  AsioTimer(const AsioTimer&) = delete;
  AsioTimer& operator=(const AsioTimer&) = delete;
  void cancel() override {
    state_->fn = nullptr;
    state_->timer.cancel();
  }

 private:
  struct State {
    State(boost::asio::io_context& io, std::function<void()> f) : timer(io), fn(std::move(f)) {}
    boost::asio::steady_timer timer;
    std::function<void()> fn;
  };
  std::shared_ptr<State> state_;
};

}  // namespace

WallTime SystemClock::now() const { return std::chrono::system_clock::now(); }
MonoTime SystemClock::mono_now() const { return std::chrono::steady_clock::now(); }

std::unique_ptr<TimerHandle> SystemClock::call_at(MonoTime when, std::function<void()> fn) {
  return std::make_unique<AsioTimer>(io_, when, std::move(fn));
}

}  // namespace tend
