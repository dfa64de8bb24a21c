#include "util/lazy_library.hpp"

#include <dlfcn.h>

#include <boost/asio/post.hpp>
#include <system_error>
#include <thread>
#include <utility>

namespace tend {

void* LazyLibrary::find(void* handle, const char* name) { return dlsym(handle, name); }

void LazyLibrary::run() {
  std::string error;
  void* handle = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);  // never closed: what it gave out stays in use
  if (handle == nullptr) {
    const char* why = dlerror();
    error = std::string("cannot load ") + soname_ + ": " + (why != nullptr ? why : "unknown error");
  } else {
    error = open_(handle);
  }
  std::lock_guard lock(mutex_);
  error_ = std::move(error);
  ready_.store(error_.empty(), std::memory_order_release);
  phase_ = Phase::over;
  // Posted under the lock: cancel() either removed a waiter before this, or returns after the
  // post, while its io_context still lives.
  for (auto& [ticket, w] : waiting_) {
    boost::asio::post(*w.io, [done = std::move(w.done), error = error_] { done(error); });
  }
  waiting_.clear();
}

std::uint64_t LazyLibrary::load_async(boost::asio::io_context& io, std::function<void(const std::string& error)> done) {
  std::lock_guard lock(mutex_);
  if (phase_ == Phase::over) {
    boost::asio::post(io, [done = std::move(done), error = error_] { done(error); });
    return 0;
  }
  if (phase_ == Phase::idle) {
    try {
      // The library objects are never destroyed (function-local statics made with new), so the
      // thread may outlive everything else. It takes the lock when done, after this returns.
      std::thread([this] { run(); }).detach();
    } catch (const std::system_error& e) {
      // No thread to load on (a limit on threads or memory): this request fails, a later one
      // tries again.
      boost::asio::post(
          io, [done = std::move(done), why = std::string("cannot load ") + soname_ + ": no thread to load it on (" +
                                             e.what() + ")"] { done(why); });
      return 0;
    }
    phase_ = Phase::loading;
  }
  const std::uint64_t ticket = next_ticket_++;
  waiting_.emplace(ticket, Waiter{&io, std::move(done)});
  return ticket;
}

void LazyLibrary::cancel(std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  waiting_.erase(ticket);
}

}  // namespace tend
