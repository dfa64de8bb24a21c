#pragma once
// The one idiom for callbacks that may outlive their owner (timers, HTTP replies, child exits,
// store results): the owner holds a Lifetime and wraps every such callback in guard(); a guarded
// callback does nothing once its owner is gone (or has ended its lifetime early, on retire).

#include <memory>
#include <utility>

namespace tend {

class Lifetime {
 public:
  Lifetime() : token_(std::make_shared<char>()) {}
  Lifetime(const Lifetime&) = delete;
  Lifetime& operator=(const Lifetime&) = delete;
  ~Lifetime() = default;

  /// `fn`, made to run only while this lifetime lasts. Declare the Lifetime member last, so it
  /// ends first when the owner is destroyed.
  template <class Fn>
  [[nodiscard]] auto guard(Fn fn) const {
    return [alive = std::weak_ptr<char>(token_), fn = std::move(fn)](auto&&... args) mutable {
      if (!alive.expired()) {
        fn(std::forward<decltype(args)>(args)...);
      }
    };
  }

  /// Callbacks guarded so far never run; later ones do (a retired entry brought back by reload).
  void renew() { token_ = std::make_shared<char>(); }

 private:
  std::shared_ptr<char> token_;
};

}  // namespace tend
