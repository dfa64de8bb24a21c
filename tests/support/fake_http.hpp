#pragma once
// FAKE HTTP client for virtual-time tests of the probe state machine: the test answers each
// request. The real client (libcurl on Asio) is tested against real loopback servers in
// test_http and the integration tests.

#include <deque>

#include "http/client.hpp"

namespace tend::testing {

class FakeHttp final : public http::Client {
 public:
  struct Pending {
    http::Request request;
    http::Callback done;
    bool cancelled = false;
  };

  class FakeHandle final : public http::Handle {
   public:
    explicit FakeHandle(std::shared_ptr<Pending> p) : p_(std::move(p)) {}
    ~FakeHandle() override { cancel(); }
    FakeHandle(const FakeHandle&) = delete;
    FakeHandle& operator=(const FakeHandle&) = delete;
    void cancel() override { p_->cancelled = true; }

   private:
    std::shared_ptr<Pending> p_;
  };

  std::unique_ptr<http::Handle> send(http::Request req, http::Callback done) override {
    auto p = std::make_shared<Pending>(Pending{std::move(req), std::move(done)});
    pending.push_back(p);
    ++sent;
    return std::make_unique<FakeHandle>(p);
  }

  /// Answer the oldest live request with `resp`; false when none is waiting.
  bool answer(http::Response resp) {
    while (!pending.empty()) {
      auto p = pending.front();
      pending.pop_front();
      if (!p->cancelled) {
        p->done(std::move(resp));
        return true;
      }
    }
    return false;
  }

  static http::Response ok(int status = 200, std::string body = "ok") {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.latency = std::chrono::milliseconds(5);
    return r;
  }

  static http::Response refused() {
    http::Response r;
    r.failure = http::Failure::connect_refused;
    r.error = "connect refused";
    return r;
  }

  std::deque<std::shared_ptr<Pending>> pending;
  int sent = 0;
};

}  // namespace tend::testing
