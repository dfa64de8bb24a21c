#pragma once
// A document rendered off the loop and shared: the loop only takes a copy of the figures the
// document needs (prepare); a worker thread formats them (the job); the text comes back to the
// loop and goes to every request that asked meanwhile. At most one render runs at a time, and a
// result younger than max_age is served again without rendering: a flood of scrapes or page
// loads costs one render per max_age, and never more loop time than one prepare.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace tend::web {

class SharedRender {
 public:
  /// Runs on the worker; owns everything it reads (never loop state).
  using Job = std::function<std::string()>;
  /// Runs on the loop, quickly: copies what the job needs and returns the job.
  using Prepare = std::function<Job()>;
  /// Runs on the loop with the text (nullptr when the job threw).
  using Done = std::function<void(std::shared_ptr<const std::string>)>;

  SharedRender(boost::asio::any_io_executor loop, boost::asio::any_io_executor worker, Prepare prepare,
               std::chrono::milliseconds max_age);
  /// Requests still waiting are dropped (their connections time out or close with the server).
  ~SharedRender();
  SharedRender(const SharedRender&) = delete;
  SharedRender& operator=(const SharedRender&) = delete;

  /// The document: at once when a fresh one is at hand (done may run before get returns),
  /// otherwise when the render in progress or a new one finishes.
  void get(Done done);

  /// Loop time the last prepare took, and worker time the last job took.
  [[nodiscard]] std::chrono::nanoseconds last_prepare() const;
  [[nodiscard]] std::chrono::nanoseconds last_render() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tend::web
