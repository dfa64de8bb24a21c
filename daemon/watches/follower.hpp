#pragma once
// Following a growing file as `tail -F` does, on the loop, driven by inotify (no polling loop):
// starts at the end, survives rename-and-create rotation (the old file is drained, and read a
// while longer for a writer that has not reopened yet), copytruncate (a shrunken file is read
// again from its start), deletion, a file that does not exist yet, and partial lines.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::watches {

class Follower {
 public:
  /// A complete line without its "\n" (and "\r"). `overlong` lines exceeded max_line: their
  /// text is dropped and `line` is empty.
  using LineHandler = std::function<void(std::string_view line, bool overlong)>;
  /// After each burst of reading (at most `chunk` bytes), before the loop does anything else.
  using BatchHandler = std::function<void()>;

  static constexpr std::size_t max_line = std::size_t{64} * 1024;
  static constexpr std::size_t chunk = std::size_t{64} * 1024;  // read per loop turn
  static constexpr std::chrono::seconds linger{60};             // a rotated-away file is read this long

  struct Stats {
    bool open = false;            // the file at the path is open
    std::uint64_t offset = 0;     // read position in it
    std::uint64_t inode = 0;      // its inode (0 when not open)
    std::uint64_t bytes = 0;      // read since start
    std::uint64_t lines = 0;      // complete lines delivered (overlong ones included)
    std::uint64_t rotations = 0;  // the file at the path was replaced (or removed)
    std::uint64_t truncations = 0;
    bool inotify = false;  // false: polling once a second (no inotify, or no directory yet)
    std::string error;     // why the file cannot be followed right now ("" when fine)
  };

  /// `name` labels the log lines (`watch=NAME`). Nothing happens before start().
  Follower(boost::asio::io_context& io, Clock& clock, std::string path, std::string name, LineHandler on_line,
           BatchHandler on_batch);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  /// Open the file at its end (or wait for it to appear, then read it from its start).
  void start();
  /// Stop following; no handler runs after this returns.
  void stop();
  [[nodiscard]] Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tend::watches
