#include "web/offload.hpp"

#include <boost/asio/post.hpp>
#include <vector>

#include "util/log.hpp"

namespace tend::web {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

struct SharedRender::State {
  asio::any_io_executor loop;
  asio::any_io_executor worker;
  Prepare prepare;
  std::chrono::milliseconds max_age;
  bool alive = true;
  bool rendering = false;
  std::shared_ptr<const std::string> cached;
  SteadyClock::time_point cached_at{};
  std::vector<Done> waiting;
  std::chrono::nanoseconds prepare_time{0};
  std::chrono::nanoseconds render_time{0};
};

SharedRender::SharedRender(asio::any_io_executor loop, asio::any_io_executor worker, Prepare prepare,
                           std::chrono::milliseconds max_age)
    : state_(std::make_shared<State>()) {
  state_->loop = std::move(loop);
  state_->worker = std::move(worker);
  state_->prepare = std::move(prepare);
  state_->max_age = max_age;
}

SharedRender::~SharedRender() {
  state_->alive = false;
  state_->waiting.clear();
}

void SharedRender::get(Done done) {
  auto& s = *state_;
  if (s.cached && SteadyClock::now() - s.cached_at < s.max_age) {
    done(s.cached);
    return;
  }
  s.waiting.push_back(std::move(done));
  if (s.rendering) {
    return;
  }
  s.rendering = true;
  const auto t0 = SteadyClock::now();
  Job job;
  try {
    job = s.prepare();
  } catch (const std::exception& e) {
    log::get("web")->error("render prepare failed: {}", e.what());
  }
  s.prepare_time = SteadyClock::now() - t0;
  asio::post(s.worker, [state = state_, job = std::move(job)]() mutable {
    const auto r0 = SteadyClock::now();
    std::shared_ptr<const std::string> text;
    try {
      if (job) {
        text = std::make_shared<const std::string>(job());
      }
    } catch (const std::exception& e) {
      // A render bug costs this document, not the daemon (the error is logged on the loop).
      auto what = std::string(e.what());
      asio::post(state->loop, [what] { log::get("web")->error("render failed: {}", what); });
    }
    job = nullptr;  // free what it held here, on the worker
    const auto took = SteadyClock::now() - r0;
    asio::post(state->loop, [state, text = std::move(text), took] {
      state->rendering = false;
      state->render_time = took;
      if (!state->alive) {
        return;
      }
      if (text) {
        state->cached = text;
        state->cached_at = SteadyClock::now();
      }
      auto waiting = std::move(state->waiting);
      state->waiting.clear();
      for (auto& deliver : waiting) {
        deliver(text);
      }
    });
  });
}

std::chrono::nanoseconds SharedRender::last_prepare() const { return state_->prepare_time; }
std::chrono::nanoseconds SharedRender::last_render() const { return state_->render_time; }

}  // namespace tend::web
