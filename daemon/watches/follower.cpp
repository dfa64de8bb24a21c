#include "watches/follower.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <vector>

#include "util/log.hpp"

namespace tend::watches {
namespace {

const auto& logger() {
  static auto l = log::get("watches");
  return l;
}

constexpr std::uint32_t kDirMask =
    IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr std::uint32_t kFileMask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;
constexpr std::chrono::seconds kPollPeriod{1};  // only without inotify or without the directory

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

/// One open file: its descriptor, where we are in it, and its unfinished last line.
struct OpenFile {
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t offset = 0;
  int wd = -1;                // its inotify watch, -1 when none
  std::string partial;        // bytes after the last newline
  bool skip_partial = false;  // started mid-line: drop bytes up to the first newline silently
  bool overlong = false;      // the current line passed max_line: drop it, count it once
};

struct Follower::Impl : std::enable_shared_from_this<Follower::Impl> {
  Impl(boost::asio::io_context& io_, Clock& clock_, std::string path_, std::string name_, LineHandler line,
       BatchHandler batch)
      : io(io_),
        clock(clock_),
        path(std::move(path_)),
        name(std::move(name_)),
        on_line(std::move(line)),
        on_batch(std::move(batch)),
        inotify(io_),
        buffer(chunk) {
    const std::filesystem::path p(path);
    dir = p.parent_path().string();
    base = p.filename().string();
  }

  ~Impl() { stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  boost::asio::io_context& io;
  Clock& clock;
  std::string path;
  std::string name;
  std::string dir;
  std::string base;
  LineHandler on_line;
  BatchHandler on_batch;

  boost::asio::posix::stream_descriptor inotify;
  int dir_wd = -1;
  std::optional<OpenFile> current;  // the file now at `path`
  std::optional<OpenFile> old;      // the previous one after a rotation, read for `linger`
  std::unique_ptr<TimerHandle> poll_timer;
  std::unique_ptr<TimerHandle> linger_timer;
  std::vector<char> buffer;
  bool stopped = false;
  bool pump_posted = false;
  bool check_path = false;
  std::string last_error;  // logged once per distinct error
  Stats stats;

  void start() {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      logger()->warn("watch={} event=NO_INOTIFY error={} polling once a second instead", name,
                     log::quote(errno_text(errno)));
    } else {
      inotify.assign(fd);
      arm_inotify();
    }
    watch_dir();
    open_current(false);
    if (needs_poll()) {
      arm_poll();
    }
    schedule_pump();
  }

  /// Without a watch on the directory (no inotify, no directory yet) or on the open file, a
  /// once-a-second stat stands in for the events.
  [[nodiscard]] bool needs_poll() const { return dir_wd < 0 || (current && current->wd < 0); }

  void stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    poll_timer.reset();
    linger_timer.reset();
    close_file(current);
    close_file(old);
    boost::system::error_code ec;
    inotify.close(ec);  // also drops every watch
  }

  // ---- inotify ----

  void watch_dir() {
    if (!inotify.is_open() || dir_wd >= 0) {
      return;
    }
    dir_wd = ::inotify_add_watch(inotify.native_handle(), dir.c_str(), kDirMask);
    if (dir_wd < 0) {
      set_error("cannot watch directory " + dir + ": " + errno_text(errno));
    } else if (!current) {
      set_error("");
      stats.error = "waiting for the file to appear";
    }
    stats.inotify = dir_wd >= 0;
  }

  int watch_file(int fd) {
    if (!inotify.is_open()) {
      return -1;
    }
    // Through /proc/self/fd: the watch lands on the inode we opened, even if the path has
    // been replaced since.
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    int wd = ::inotify_add_watch(inotify.native_handle(), proc.c_str(), kFileMask);
    if (wd < 0) {
      wd = ::inotify_add_watch(inotify.native_handle(), path.c_str(), kFileMask);
    }
    return wd;
  }

  void unwatch(int wd) {
    if (wd < 0 || !inotify.is_open()) {
      return;
    }
    // The other file may share the watch (a hard link): keep it then.
    const bool shared = (current && current->wd == wd) || (old && old->wd == wd);
    if (!shared) {
      ::inotify_rm_watch(inotify.native_handle(), wd);
    }
  }

  void arm_inotify() {
    std::weak_ptr<Impl> weak = weak_from_this();
    inotify.async_wait(boost::asio::posix::stream_descriptor::wait_read, [weak](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->stopped) {
        return;
      }
      self->read_events();
      self->arm_inotify();
    });
  }

  void read_events() {
    alignas(inotify_event) std::array<char, 16384> events{};
    for (;;) {
      const ssize_t n = ::read(inotify.native_handle(), events.data(), events.size());
      if (n <= 0) {
        break;  // EAGAIN: all read
      }
      for (ssize_t i = 0; i < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(events.data() + i);
        handle_event(*e);
        i += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    schedule_pump();
  }

  void handle_event(const inotify_event& e) {
    if ((e.mask & IN_Q_OVERFLOW) != 0) {
      check_path = true;
      return;
    }
    if (e.wd == dir_wd && dir_wd >= 0) {
      if ((e.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
        // The directory itself went away: poll until it is back.
        logger()->warn("watch={} event=DIR_GONE dir={}", name, dir);
        if ((e.mask & IN_IGNORED) == 0) {
          ::inotify_rm_watch(inotify.native_handle(), dir_wd);
        }
        dir_wd = -1;
        stats.inotify = false;
        check_path = true;
        arm_poll();
        return;
      }
      if (e.len > 0 && base == e.name) {
        check_path = true;
      }
      return;
    }
    if ((e.mask & (IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)) != 0) {
      check_path = true;
    }
  }

  void arm_poll() {
    if (poll_timer || stopped) {
      return;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    poll_timer = clock.call_after(kPollPeriod, [weak] {
      auto self = weak.lock();
      if (!self || self->stopped) {
        return;
      }
      self->poll_timer.reset();
      self->watch_dir();
      self->check_path = true;
      self->schedule_pump();
      if (self->needs_poll()) {
        self->arm_poll();
      }
    });
  }

  // ---- files ----

  void set_error(const std::string& error) {
    stats.error = error;
    if (error != last_error) {
      last_error = error;
      if (!error.empty()) {
        logger()->warn("watch={} event=FOLLOW_ERROR file={} error={}", name, path, log::quote(error));
      }
    }
  }

  /// Open the file at `path`: at its end (the first open at start), else from its beginning
  /// (it appeared, or replaced the one we had, after we started).
  void open_current(bool from_start) {
    // tend reads as root files other users may replace (~/.pm2/logs, /var/log/app): a symlink is
    // followed only when root or the owner of its target owns it, as the kernel's
    // protected_symlinks rule does in sticky directories (an app user's link to /etc/shadow is
    // refused). The link is looked at before and after the open, so a swap in between is caught.
    struct stat link_before {};
    const bool is_link = ::lstat(path.c_str(), &link_before) == 0 && S_ISLNK(link_before.st_mode);
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      struct stat target {};
      struct stat link_after {};
      const bool still =
          ::lstat(path.c_str(), &link_after) == 0 && S_ISLNK(link_after.st_mode) == is_link &&
          (!is_link || (link_after.st_ino == link_before.st_ino && link_after.st_dev == link_before.st_dev));
      const bool trusted =
          ::fstat(fd, &target) == 0 && (!is_link || link_before.st_uid == 0 || link_before.st_uid == target.st_uid);
      if (!still || !trusted) {
        ::close(fd);
        set_error(path + " is a symlink owned by uid " + std::to_string(link_before.st_uid) +
                  " to a file it does not own: not followed (only root's links, or the target owner's, are)");
        return;
      }
    }
    if (fd < 0) {
      if (errno == ENOENT) {
        if (stats.error.empty()) {
          stats.error = "waiting for the file to appear";
        }
        logger()->info("watch={} event=WAITING file={} reason={}", name, path, log::quote("no such file yet"));
      } else {
        set_error("cannot open " + path + ": " + errno_text(errno));
      }
      return;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      set_error(path + " is not a regular file");
      return;
    }
    OpenFile f;
    f.fd = fd;
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    if (!from_start && st.st_size > 0) {
      f.offset = static_cast<std::uint64_t>(st.st_size);
      // Starting in the middle of a line being written: its rest is not a line of its own.
      char last = '\n';
      if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
        f.skip_partial = true;
      }
    }
    f.wd = watch_file(fd);
    set_error("");
    logger()->info("watch={} event=OPEN file={} inode={} offset={}", name, path, f.ino, f.offset);
    current = std::move(f);
  }

  void close_file(std::optional<OpenFile>& f) {
    if (!f) {
      return;
    }
    const int wd = f->wd;
    ::close(f->fd);
    f.reset();
    unwatch(wd);
  }

  /// Read what is left of the old file, deliver its last unterminated line, close it.
  void finish_old() {
    if (!old) {
      return;
    }
    std::size_t unlimited = std::numeric_limits<std::size_t>::max();
    read_file(*old, unlimited, false);
    if (!old->partial.empty() && !old->skip_partial && !old->overlong) {
      deliver(old->partial, false);
    }
    logger()->debug("watch={} event=CLOSE_OLD inode={} offset={}", name, old->ino, old->offset);
    close_file(old);
    linger_timer.reset();
  }

  /// The file at `path` is no longer ours: keep reading ours for `linger` (a writer may not
  /// have reopened yet), then close it.
  void retire_current() {
    ++stats.rotations;
    finish_old();
    old = std::move(current);
    current.reset();
    std::weak_ptr<Impl> weak = weak_from_this();
    linger_timer = clock.call_after(std::chrono::duration_cast<std::chrono::milliseconds>(linger), [weak] {
      if (auto self = weak.lock(); self && !self->stopped) {
        self->finish_old();
      }
    });
  }

  /// What is at `path` now, compared with what we have open.
  void reconcile() {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (current) {
        logger()->info("watch={} event=GONE file={} inode={} offset={}", name, path, current->ino, current->offset);
        retire_current();
      }
      if (errno == ENOENT) {
        if (stats.error.empty()) {
          stats.error = "waiting for the file to appear";
        }
      } else {
        set_error("cannot stat " + path + ": " + errno_text(errno));
      }
      return;
    }
    if (current && st.st_ino == current->ino && st.st_dev == current->dev) {
      return;  // same file (attributes changed, or a rename elsewhere in the directory)
    }
    if (current) {
      logger()->info("watch={} event=ROTATED file={} old_inode={} old_offset={} new_inode={}", name, path, current->ino,
                     current->offset, st.st_ino);
      retire_current();
    }
    open_current(true);
    if (needs_poll()) {
      arm_poll();
    }
  }

  // ---- reading ----

  void schedule_pump() {
    if (pump_posted || stopped) {
      return;
    }
    pump_posted = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::post(io, [weak] {
      if (auto self = weak.lock()) {
        self->pump();
      }
    });
  }

  /// One loop turn of work: at most `chunk` bytes, then the rest in a later turn, so a huge
  /// append cannot keep the loop from timers and the socket.
  void pump() {
    pump_posted = false;
    if (stopped) {
      return;
    }
    if (check_path) {
      check_path = false;
      reconcile();
    }
    std::size_t budget = chunk;
    bool more = false;
    if (old) {
      more = read_file(*old, budget, false);
    }
    if (current && !more) {
      more = read_file(*current, budget, true);
    }
    if (more) {
      schedule_pump();
    }
    if (on_batch) {
      on_batch();
    }
  }

  /// Read `f` until its end or until `budget` bytes; true when the budget ran out first.
  /// `rewind_on_truncate`: the file at the path (copytruncate), not a rotated-away one.
  bool read_file(OpenFile& f, std::size_t& budget, bool rewind_on_truncate) {
    while (budget > 0 && !stopped) {
      const std::size_t want = std::min(budget, buffer.size());
      const ssize_t n = ::pread(f.fd, buffer.data(), want, static_cast<off_t>(f.offset));
      if (n < 0) {
        if (errno != EINTR && errno != EAGAIN) {
          set_error("read " + path + ": " + errno_text(errno));
        }
        return false;
      }
      if (n > 0) {
        f.offset += static_cast<std::uint64_t>(n);
        budget -= static_cast<std::size_t>(n);
        stats.bytes += static_cast<std::uint64_t>(n);
        split(f, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      }
      if (static_cast<std::size_t>(n) < want) {
        // At the end for now. A file shorter than our offset was truncated in place
        // (copytruncate): read it again from its start.
        struct stat st {};
        if (::fstat(f.fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) < f.offset) {
          if (!rewind_on_truncate) {
            // A rotated-away file being rewritten is no longer the writer's log: let it go.
            f.offset = static_cast<std::uint64_t>(st.st_size);
            return false;
          }
          ++stats.truncations;
          logger()->info("watch={} event=TRUNCATED file={} old_offset={} size={}", name, path, f.offset, st.st_size);
          f.offset = 0;
          f.partial.clear();
          f.skip_partial = false;
          f.overlong = false;
          continue;
        }
        return false;
      }
    }
    return budget == 0;
  }

  /// Cut `data` into lines; keep the unterminated rest in `f.partial` (up to max_line).
  void split(OpenFile& f, std::string_view data) {
    while (!data.empty()) {
      const auto* nl = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
      if (nl == nullptr) {
        if (f.skip_partial || f.overlong) {
          return;
        }
        if (f.partial.size() + data.size() > max_line) {
          f.overlong = true;
          f.partial.clear();
          f.partial.shrink_to_fit();
          return;
        }
        f.partial.append(data);
        return;
      }
      const auto len = static_cast<std::size_t>(nl - data.data());
      const std::string_view piece = data.substr(0, len);
      data.remove_prefix(len + 1);
      if (f.skip_partial) {
        f.skip_partial = false;
        continue;
      }
      if (f.overlong || f.partial.size() + piece.size() > max_line) {
        f.overlong = false;
        f.partial.clear();
        deliver({}, true);
        continue;
      }
      if (f.partial.empty()) {
        deliver(piece, false);
      } else {
        f.partial.append(piece);
        deliver(f.partial, false);
        f.partial.clear();
      }
    }
  }

  void deliver(std::string_view line, bool overlong) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() && !overlong) {
      return;  // blank lines are not requests, nor garbage
    }
    ++stats.lines;
    on_line(line, overlong);
  }
};

Follower::Follower(boost::asio::io_context& io, Clock& clock, std::string path, std::string name, LineHandler on_line,
                   BatchHandler on_batch)
    : impl_(std::make_shared<Impl>(io, clock, std::move(path), std::move(name), std::move(on_line),
                                   std::move(on_batch))) {}

Follower::~Follower() { impl_->stop(); }

void Follower::start() { impl_->start(); }

void Follower::stop() { impl_->stop(); }

Follower::Stats Follower::stats() const {
  Stats s = impl_->stats;
  s.open = impl_->current.has_value();
  s.offset = impl_->current ? impl_->current->offset : 0;
  s.inode = impl_->current ? static_cast<std::uint64_t>(impl_->current->ino) : 0;
  return s;
}

}  // namespace tend::watches
