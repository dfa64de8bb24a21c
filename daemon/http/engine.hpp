#pragma once
// Internal: what both HTTP engines (libcurl's and the plain one) do around a request, said once:
// the completion posted to the loop and called at most once, the Handle that cancels, and the
// Client that owns an engine. An Engine here has `send(Request, Callback) -> shared_ptr<Transfer>`,
// `cancel(Transfer&)`, `shutdown()` and `shut_down()`; a Transfer has `done`, `finished` and
// `owner` (its engine while in flight).

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <memory>
#include <utility>

#include "http/client.hpp"
#include "util/log.hpp"

namespace tend::http::detail {

/// Post `t`'s completion with `r`: it runs on the loop after the caller's stack unwinds (the
/// callback may start a request or drop its handle or the client), and calls back only when the
/// engine is still up and the request was not cancelled meanwhile. What the callback throws is
/// logged: nothing unwinds into the loop.
template <class Engine, class Transfer>
void post_completion(boost::asio::io_context& io, std::weak_ptr<Engine> engine, std::shared_ptr<Transfer> t,
                     Response r) {
  boost::asio::post(io, [engine = std::move(engine), t = std::move(t), r = std::move(r)]() mutable {
    {
      auto self = engine.lock();
      if (!self || self->shut_down() || t->finished) {
        return;
      }
    }
    t->finished = true;
    Callback done = std::move(t->done);
    t->done = nullptr;
    if (!done) {
      return;
    }
    try {
      done(std::move(r));
    } catch (const std::exception& e) {
      log::get("http")->error("request callback threw error={}", log::quote(e.what()));
    } catch (...) {
      log::get("http")->error("request callback threw");
    }
  });
}

/// The caller's handle on a request: cancel() (or its end) drops it without a callback.
template <class Transfer>
class TransferHandle final : public Handle {
 public:
  explicit TransferHandle(std::weak_ptr<Transfer> t) : transfer_(std::move(t)) {}
  ~TransferHandle() override { cancel(); }
  TransferHandle(const TransferHandle&) = delete;
  TransferHandle& operator=(const TransferHandle&) = delete;

  void cancel() override {
    auto t = transfer_.lock();
    if (!t) {
      return;
    }
    if (t->owner != nullptr) {
      t->owner->cancel(*t);
    } else {
      t->finished = true;
      t->done = nullptr;
    }
  }

 private:
  std::weak_ptr<Transfer> transfer_;
};

/// A Client over a started engine, which it shuts down when it goes (pending callbacks then never run).
template <class Engine>
class EngineClient final : public Client {
 public:
  explicit EngineClient(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}
  ~EngineClient() override { engine_->shutdown(); }
  EngineClient(const EngineClient&) = delete;
  EngineClient& operator=(const EngineClient&) = delete;

  std::unique_ptr<Handle> send(Request req, Callback done) override {
    auto t = engine_->send(std::move(req), std::move(done));
    return std::make_unique<TransferHandle<typename decltype(t)::element_type>>(t);
  }

 private:
  std::shared_ptr<Engine> engine_;
};

}  // namespace tend::http::detail
