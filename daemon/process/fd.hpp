#pragma once
// Internal: an owned file descriptor.

#include <unistd.h>

#include <utility>

namespace tend::process::detail {

/// Closes its descriptor when destroyed; move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.fd_, -1));
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  /// The descriptor, still owned; -1 when none.
  [[nodiscard]] int get() const { return fd_; }
  /// Give up ownership and return the descriptor.
  int release() { return std::exchange(fd_, -1); }
  /// Close the owned descriptor (if any) and own `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace tend::process::detail
