#pragma once
// Prometheus text exposition format 0.0.4: families with # HELP and # TYPE, fixed label names per
// family, escaped label values, counters named *_total, histograms as cumulative *_bucket{le=...}
// series with *_sum and *_count. The Writer appends straight into one string (no per-series
// allocation), so 100,000 series render in a few milliseconds (bench/bench_web.cpp).
//
// Names are checked when a family begins: a name the format or Prometheus's conventions reject
// (a counter without _total, a gauge ending in _count, a reserved label) throws, so a mistake
// shows up in the first unit test that renders it, not in a scraper's log.

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.hpp"

namespace tend::metrics {

enum class Type { counter, gauge, histogram };

/// Upper bounds of a histogram's buckets (strictly increasing, finite; +Inf is implied), with
/// their `le` labels rendered once.
class Buckets {
 public:
  /// Throws std::invalid_argument when the bounds are empty, not finite or not increasing.
  explicit Buckets(std::vector<double> upper_bounds);
  [[nodiscard]] std::span<const double> bounds() const { return bounds_; }
  /// The `le` label of each bucket, "+Inf" last (one more than bounds()).
  [[nodiscard]] const std::vector<std::string>& le() const { return le_; }
  /// Index of the bucket a value falls in (bounds().size() for above the last bound).
  [[nodiscard]] std::size_t index(double value) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::string> le_;
};

using BucketsPtr = std::shared_ptr<const Buckets>;

/// Seconds, for probe latencies and HTTP round trips: 5 ms .. 10 s.
BucketsPtr latency_buckets();
/// Seconds, for job run durations: 100 ms .. 4 h.
BucketsPtr duration_buckets();
/// Seconds, for event-loop lag: 100 µs .. 2.5 s.
BucketsPtr lag_buckets();

/// Observations counted per bucket (not cumulative; the writer sums them), with sum and count.
class Histogram {
 public:
  explicit Histogram(BucketsPtr buckets);
  /// Count one observation (NaN is ignored).
  void observe(double value);
  void reset();
  [[nodiscard]] const Buckets& buckets() const { return *buckets_; }
  /// Per bucket, the last one for values above every bound.
  [[nodiscard]] std::span<const std::uint64_t> counts() const { return counts_; }
  [[nodiscard]] double sum() const { return sum_; }
  [[nodiscard]] std::uint64_t count() const { return count_; }

 private:
  BucketsPtr buckets_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// One family's samples, appended to a string (the output itself for a Writer, the family's own
/// buffer in a Collector). Label values come in the family's label order.
class Family {
 public:
  /// Checks the name and labels: throws std::invalid_argument on a name or label name the
  /// format or the naming conventions reject (a counter without _total, a gauge ending in
  /// _count, a label named "le" on a histogram or starting with "__").
  Family(std::string& out, std::string_view name, std::string_view help, Type type,
         std::initializer_list<std::string_view> label_names);

  /// One sample of a counter or gauge.
  void sample(std::initializer_list<std::string_view> label_values, double value);
  /// The same, for integers (rendered exactly, without an exponent).
  template <std::integral I>
  void sample(std::initializer_list<std::string_view> label_values, I value) {
    begin_sample(label_values);
    append_int(static_cast<std::int64_t>(value));
    out_->push_back('\n');
  }
  /// One series of a histogram.
  void histogram(std::initializer_list<std::string_view> label_values, const Histogram& h);
  /// The same from per-bucket (not cumulative) counts kept elsewhere; counts.size() must be
  /// buckets.bounds().size() + 1.
  void histogram(std::initializer_list<std::string_view> label_values, const Buckets& buckets,
                 std::span<const std::uint64_t> counts, double sum);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& help() const { return help_; }
  [[nodiscard]] Type type() const { return type_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return label_names_; }
  /// Series written so far (a histogram series counts once).
  [[nodiscard]] std::size_t series() const { return series_; }
  /// The names this family owns in the output (a histogram's _bucket, _sum and _count too).
  [[nodiscard]] std::vector<std::string> owned_names() const;
  /// Write the # HELP and # TYPE lines.
  void write_header(std::string& out) const;

 private:
  void begin_sample(std::initializer_list<std::string_view> label_values);
  void check(std::size_t n, bool histogram) const;
  void append_labels(std::string& out, std::initializer_list<std::string_view> values) const;
  void append_int(std::int64_t v);
  void append_double(double v);

  friend class Collector;

  std::string* out_;
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
  std::size_t series_ = 0;
};

/// Renders families one after the other straight into `out` (the fastest way): family(...),
/// then all its samples, then the next family.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  /// Begin a family and write its HELP and TYPE. Throws as Family does, and std::logic_error
  /// when a family of that name was already written. The reference is valid until the next
  /// call of family().
  Family& family(std::string_view name, std::string_view help, Type type,
                 std::initializer_list<std::string_view> label_names = {});

  /// Samples of the current family (as Family's).
  void sample(std::initializer_list<std::string_view> label_values, double value) {
    current().sample(label_values, value);
  }
  template <std::integral I>
  void sample(std::initializer_list<std::string_view> label_values, I value) {
    current().sample(label_values, value);
  }
  void histogram(std::initializer_list<std::string_view> label_values, const Histogram& h) {
    current().histogram(label_values, h);
  }
  void histogram(std::initializer_list<std::string_view> label_values, const Buckets& buckets,
                 std::span<const std::uint64_t> counts, double sum) {
    current().histogram(label_values, buckets, counts, sum);
  }

  /// Families written so far.
  [[nodiscard]] std::size_t families() const { return families_; }

 private:
  Family& current();

  std::string& out_;
  std::optional<Family> family_;
  std::size_t families_ = 0;
  std::set<std::string, std::less<>> written_;
};

/// Collects samples in any order (entry by entry, each entry adding to several families) and
/// renders them grouped by family, as the format requires. Costs one extra copy of the text.
class Collector {
 public:
  /// The family of this name, declared on first use (later calls must agree on type and
  /// labels, or std::logic_error). Families render in the order they were first declared.
  Family& family(std::string_view name, std::string_view help, Type type,
                 std::initializer_list<std::string_view> label_names = {});
  /// Append every family that has samples to `out`.
  void render(std::string& out) const;
  /// Drop all samples, keep the families (for the next scrape).
  void clear();

 private:
  struct Slot {
    std::string samples;
    std::unique_ptr<Family> family;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::map<std::string, Slot*, std::less<>> by_name_;
  std::set<std::string, std::less<>> owned_;  // every output name, histograms' suffixes included
};

/// Append a label value escaped for the format (\\, \", \n; invalid UTF-8 becomes U+FFFD).
void append_escaped_label_value(std::string& out, std::string_view value);

/// A wall time as Unix seconds (the unit of *_timestamp_seconds series).
inline double unix_seconds(WallTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

/// The content type of format 0.0.4.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace tend::metrics
