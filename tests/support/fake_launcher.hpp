#pragma once
// FAKE launcher for virtual-time tests of job policy (retries, overlap, timeouts as decided by
// the job). Real processes are covered by test_process and the integration tests; here time is
// virtual, so the "process" ends when the test says.

#include <vector>

#include "process/launcher.hpp"

namespace tend::testing {

class FakeLauncher final : public process::Launcher {
 public:
  struct Spawned {
    process::Spec spec;
    process::ExitHandler on_exit;
    bool stop_requested = false;
    bool done = false;
  };

  class FakeChild final : public process::Child {
   public:
    FakeChild(FakeLauncher& l, std::size_t i) : launcher_(l), index_(i) {}
    [[nodiscard]] pid_t pid() const override { return static_cast<pid_t>(1000 + index_); }
    void stop() override {
      launcher_.spawned[index_].stop_requested = true;
      process::Result r;
      r.signal = 15;
      r.stopped = true;
      launcher_.finish(index_, r);
    }
    [[nodiscard]] std::string output_so_far() const override { return "partial"; }

   private:
    FakeLauncher& launcher_;
    std::size_t index_;
  };

  std::shared_ptr<process::Child> spawn(const process::Spec& spec, process::ExitHandler on_exit) override {
    spawned.push_back({spec, std::move(on_exit)});
    return std::make_shared<FakeChild>(*this, spawned.size() - 1);
  }

  /// End spawn number i with result r (once).
  void finish(std::size_t i, process::Result r) {
    auto& s = spawned.at(i);
    if (s.done) {
      return;
    }
    s.done = true;
    s.on_exit(std::move(r));
  }

  /// End spawn i with an exit code.
  void exit(std::size_t i, int code, std::string output = "") {
    process::Result r;
    r.exit_code = code;
    r.output = std::move(output);
    finish(i, r);
  }

  std::vector<Spawned> spawned;
};

}  // namespace tend::testing
