#pragma once
// A shared library opened when its first user needs it, as systemd opens its optional libraries:
// tendd is not linked against it, so a daemon that never uses it never maps it nor its dependency
// tree (issue 14). The dlopen, which reads files, runs on a thread of its own, never on the loop.
// libcurl (http/curl_api) and libsystemd's sd-bus (remedies/sd_bus_api) are opened this way.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace tend {

class LazyLibrary {
 public:
  /// Resolves what the user needs from the opened handle and initialises it; "" or why not.
  /// Runs once, on the loading thread.
  using Open = std::function<std::string(void* handle)>;

  /// `soname`: what dlopen is given ("libcurl.so.4").
  LazyLibrary(const char* soname, Open open) : soname_(soname), open_(std::move(open)) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  [[nodiscard]] const char* soname() const { return soname_; }

  /// True once the library is loaded and `open` succeeded. Thread-safe; never blocks.
  [[nodiscard]] bool ready() const { return ready_.load(std::memory_order_acquire); }

  /// Load on a thread of its own, then post `done` to `io` with "" or the reason it failed (posted
  /// at once when the load is already over, or when no thread can be made: a later call tries
  /// again). Returns a ticket for cancel(), 0 when `done` is already posted.
  std::uint64_t load_async(boost::asio::io_context& io, std::function<void(const std::string& error)> done);

  /// `done` of `ticket` is not posted (its caller, and maybe `io`, are going away). Once this
  /// returns, the loading thread no longer touches that io_context.
  void cancel(std::uint64_t ticket);

  /// Resolve `name` from `handle` into `out`; on failure, sets `error` (the first one kept).
  template <class F>
  void resolve(void* handle, const char* name, F& out, std::string& error) const {
    void* symbol = find(handle, name);
    if (symbol == nullptr) {
      error = error.empty() ? std::string(soname_) + " has no " + name : error;
      return;
    }
    out = reinterpret_cast<F>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's contract
  }

 private:
  struct Waiter {
    boost::asio::io_context* io;
    std::function<void(const std::string&)> done;
  };
  enum class Phase { idle, loading, over };

  static void* find(void* handle, const char* name);
  void run();

  const char* soname_;
  Open open_;
  std::mutex mutex_;
  Phase phase_ = Phase::idle;
  std::atomic<bool> ready_{false};
  std::string error_;  // "" once loaded
  std::uint64_t next_ticket_ = 1;
  std::map<std::uint64_t, Waiter> waiting_;
};

/// A LazyLibrary and the table of functions its users call (`Api`: a struct of function
/// pointers), filled by `resolve` (LazyLibrary::resolve for each) on the loading thread.
template <class Api>
class LazyApi {
 public:
  using Resolve = std::string (*)(const LazyLibrary& lib, void* handle, Api& api);

  LazyApi(const char* soname, Resolve resolve)
      : lib_(soname, [this, resolve](void* handle) {
          Api api{};
          std::string error = resolve(lib_, handle, api);
          if (error.empty()) {
            api_ = api;  // before ready(): published by its release store
          }
          return error;
        }) {}

  /// The table once loaded, else nullptr. Thread-safe; never blocks.
  [[nodiscard]] const Api* loaded() const { return lib_.ready() ? &api_ : nullptr; }
  std::uint64_t load_async(boost::asio::io_context& io, std::function<void(const std::string& error)> done) {
    return lib_.load_async(io, std::move(done));
  }
  void cancel(std::uint64_t ticket) { lib_.cancel(ticket); }
  [[nodiscard]] const char* soname() const { return lib_.soname(); }

 private:
  Api api_{};
  LazyLibrary lib_;
};

}  // namespace tend
