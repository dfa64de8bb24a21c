#pragma once
// A sliding window of request and 5xx counts in fixed time buckets: memory is a few thousand
// bytes whatever the request rate (SPEC: "bucketed counts, not a list of requests").

#include <cstdint>
#include <vector>

#include "util/duration.hpp"
#include "util/time.hpp"

namespace tend::watches {

class Window {
 public:
  struct Totals {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;  // 5xx
  };

  /// A window of `length` in at most `max_buckets` buckets of equal width (1 s for windows up to
  /// `max_buckets` seconds, wider beyond; a window shorter than a second is one bucket).
  explicit Window(Duration length, std::size_t max_buckets = 600);

  /// Count `requests` (of which `errors` were 5xx) as arrived at `at`. Times never go back
  /// (monotonic clock); an `at` older than the window is ignored.
  void add(MonoTime at, std::uint64_t requests, std::uint64_t errors);
  /// The counts of the buckets that `now` still sees: those that began less than the window
  /// length before `now`'s bucket ended. Expires older buckets.
  Totals totals(MonoTime now);

  [[nodiscard]] Duration length() const { return length_; }
  [[nodiscard]] Duration bucket_width() const { return width_; }
  [[nodiscard]] std::size_t buckets() const { return ring_.size(); }

 private:
  struct Bucket {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
  };

  [[nodiscard]] std::int64_t index_of(MonoTime t) const;
  void advance(std::int64_t index);

  Duration length_;
  Duration width_;
  std::vector<Bucket> ring_;
  bool empty_ = true;
  std::int64_t newest_ = 0;  // index of the newest bucket the window has reached
  Totals sum_;               // running sums over the live buckets
};

}  // namespace tend::watches
