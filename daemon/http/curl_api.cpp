#include "http/curl_api.hpp"

#include <dlfcn.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace tend::http::curl {
namespace {

struct Waiter {
  boost::asio::io_context* io;
  std::function<void(const std::string&)> done;
};

struct State {
  enum class Phase { idle, loading, over };
  std::mutex mutex;
  Phase phase = Phase::idle;
  std::string error;  // "" once loaded
  Api api{};
  std::uint64_t next_ticket = 1;
  std::map<std::uint64_t, Waiter> waiting;
};

// Never destroyed: a load may still be running on its thread while the process exits.
State& state() {
  static auto* s = new State;
  return *s;
}

std::atomic<const Api*> g_ready{nullptr};

template <class F>
void resolve(void* lib, const char* name, F& out, std::string& error) {
  void* symbol = dlsym(lib, name);
  if (symbol == nullptr) {
    error = error.empty() ? std::string(kLibrary) + " has no " + name : error;
    return;
  }
  out = reinterpret_cast<F>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's contract
}

/// dlopen and curl_global_init; "" or why not.
std::string open_library(Api& api) {
  void* lib = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);  // never closed: handles outlive any one client
  if (lib == nullptr) {
    const char* why = dlerror();
    return std::string("cannot load ") + kLibrary + ": " + (why != nullptr ? why : "unknown error");
  }
  std::string error;
  resolve(lib, "curl_global_init", api.global_init, error);
  resolve(lib, "curl_easy_init", api.easy_init, error);
  resolve(lib, "curl_easy_reset", api.easy_reset, error);
  resolve(lib, "curl_easy_cleanup", api.easy_cleanup, error);
  resolve(lib, "curl_easy_setopt", api.easy_setopt, error);
  resolve(lib, "curl_easy_getinfo", api.easy_getinfo, error);
  resolve(lib, "curl_easy_strerror", api.easy_strerror, error);
  resolve(lib, "curl_multi_init", api.multi_init, error);
  resolve(lib, "curl_multi_cleanup", api.multi_cleanup, error);
  resolve(lib, "curl_multi_setopt", api.multi_setopt, error);
  resolve(lib, "curl_multi_add_handle", api.multi_add_handle, error);
  resolve(lib, "curl_multi_remove_handle", api.multi_remove_handle, error);
  resolve(lib, "curl_multi_assign", api.multi_assign, error);
  resolve(lib, "curl_multi_socket_action", api.multi_socket_action, error);
  resolve(lib, "curl_multi_info_read", api.multi_info_read, error);
  resolve(lib, "curl_multi_strerror", api.multi_strerror, error);
  resolve(lib, "curl_slist_append", api.slist_append, error);
  resolve(lib, "curl_slist_free_all", api.slist_free_all, error);
  if (!error.empty()) {
    return error;
  }
  // Once per process and never undone (other threads may still use curl during static
  // destruction). Since 7.84 it is thread-safe; nothing else here uses curl or its TLS library.
  if (const CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return std::string("curl_global_init failed: ") + api.easy_strerror(rc);
  }
  return {};
}

/// The load, on its own thread; afterwards, post to every waiter.
void run_load() {
  State& s = state();
  Api api{};
  std::string error = open_library(api);
  std::lock_guard lock(s.mutex);
  s.api = api;
  s.error = std::move(error);
  s.phase = State::Phase::over;
  if (s.error.empty()) {
    g_ready.store(&s.api, std::memory_order_release);
  }
  // Posted under the lock: cancel_load() either removed a waiter before this, or returns after
  // the post, while its io_context still lives.
  for (auto& [ticket, w] : s.waiting) {
    boost::asio::post(*w.io, [done = std::move(w.done), error = s.error] { done(error); });
  }
  s.waiting.clear();
}

}  // namespace

const Api* loaded() { return g_ready.load(std::memory_order_acquire); }

std::uint64_t load_async(boost::asio::io_context& io, std::function<void(const std::string& error)> done) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.phase == State::Phase::over) {
    boost::asio::post(io, [done = std::move(done), error = s.error] { done(error); });
    return 0;
  }
  if (s.phase == State::Phase::idle) {
    try {
      std::thread(run_load).detach();  // it takes the lock when done, after this function returns
    } catch (const std::system_error& e) {
      // No thread to load on (a limit on threads or memory): this request fails, a later one
      // tries again.
      boost::asio::post(
          io, [done = std::move(done), why = std::string("cannot load ") + kLibrary + ": no thread to load it on (" +
                                             e.what() + ")"] { done(why); });
      return 0;
    }
    s.phase = State::Phase::loading;
  }
  const std::uint64_t ticket = s.next_ticket++;
  s.waiting.emplace(ticket, Waiter{&io, std::move(done)});
  return ticket;
}

void cancel_load(std::uint64_t ticket) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.waiting.erase(ticket);
}

}  // namespace tend::http::curl
