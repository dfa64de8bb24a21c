#include "metrics/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "util/text.hpp"

namespace tend::metrics {
namespace {

bool name_char(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return first ? alpha || c == ':' : alpha || c == ':' || (c >= '0' && c <= '9');
}

bool valid_metric_name(std::string_view n) {
  if (n.empty() || !name_char(n[0], true)) {
    return false;
  }
  return std::all_of(n.begin() + 1, n.end(), [](char c) { return name_char(c, false); });
}

bool valid_label_name(std::string_view n) {
  // Label names may not contain ':' and names starting with "__" are reserved for Prometheus.
  if (n.empty() || n.starts_with("__") || !name_char(n[0], true) || n[0] == ':') {
    return false;
  }
  return std::all_of(n.begin() + 1, n.end(), [](char c) { return c != ':' && name_char(c, false); });
}

void escape_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

const char* type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

std::string format_bound(double v) {
  char buf[64];
  // Fixed notation: le="0.0001" rather than le="1e-04", as every other exporter writes it.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

}  // namespace

void append_escaped_label_value(std::string& out, std::string_view value) {
  // Entry names are plain ASCII: copy them in one go.
  const bool plain = std::none_of(value.begin(), value.end(), [](char c) {
    return c == '\\' || c == '"' || c == '\n' || static_cast<unsigned char>(c) >= 0x80;
  });
  if (plain) {
    out += value;
    return;
  }
  for (std::size_t i = 0; i < value.size();) {
    const char c = value[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const auto len = utf8_length(value, i);
      if (len == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD: a scraper rejects the whole page for one invalid byte
        ++i;
      } else {
        out.append(value.substr(i, len));
        i += len;
      }
      continue;
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
    ++i;
  }
}

Buckets::Buckets(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  if (bounds_.empty()) {
    throw std::invalid_argument("histogram buckets: at least one bound is needed");
  }
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram buckets must be finite and strictly increasing");
    }
    le_.push_back(format_bound(bounds_[i]));
  }
  le_.emplace_back("+Inf");
}

std::size_t Buckets::index(double value) const {
  // le is "less than or equal": a value equal to a bound belongs to that bound's bucket.
  return static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
}

BucketsPtr latency_buckets() {
  static const auto b =
      std::make_shared<const Buckets>(std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  return b;
}

BucketsPtr duration_buckets() {
  static const auto b = std::make_shared<const Buckets>(
      std::vector<double>{0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400});
  return b;
}

BucketsPtr lag_buckets() {
  static const auto b = std::make_shared<const Buckets>(
      std::vector<double>{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  return b;
}

Histogram::Histogram(BucketsPtr buckets) : buckets_(std::move(buckets)), counts_(buckets_->bounds().size() + 1, 0) {}

void Histogram::observe(double value) {
  if (std::isnan(value)) {
    return;
  }
  ++counts_[buckets_->index(value)];
  sum_ += value;
  ++count_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  sum_ = 0;
  count_ = 0;
}

Family::Family(std::string& out, std::string_view name, std::string_view help, Type type,
               std::initializer_list<std::string_view> label_names)
    : out_(&out), name_(name), help_(help), type_(type) {
  if (!valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name '" + name_ + "'");
  }
  const bool total = name.ends_with("_total");
  if (type == Type::counter && !total) {
    throw std::invalid_argument("counter '" + name_ + "' must end in _total");
  }
  if (type != Type::counter && total) {
    throw std::invalid_argument("only counters end in _total: '" + name_ + "'");
  }
  for (std::string_view suffix : {"_count", "_sum", "_bucket"}) {
    if (name.ends_with(suffix)) {
      throw std::invalid_argument("'" + name_ + "' ends in a suffix reserved for histograms");
    }
  }
  if (help.empty()) {
    throw std::invalid_argument("metric '" + name_ + "' needs a help text");
  }
  for (std::string_view l : label_names) {
    if (!valid_label_name(l) || (type == Type::histogram && l == "le")) {
      throw std::invalid_argument("invalid label name '" + std::string(l) + "' in " + name_);
    }
    if (std::find(label_names_.begin(), label_names_.end(), l) != label_names_.end()) {
      throw std::invalid_argument("duplicate label '" + std::string(l) + "' in " + name_);
    }
    label_names_.emplace_back(l);
  }
}

std::vector<std::string> Family::owned_names() const {
  if (type_ != Type::histogram) {
    return {name_};
  }
  return {name_, name_ + "_bucket", name_ + "_sum", name_ + "_count"};
}

void Family::write_header(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  escape_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
}

void Family::check(std::size_t n, bool histogram) const {
  if (histogram != (type_ == Type::histogram)) {
    throw std::logic_error("metric family '" + name_ + "': wrong kind of sample for its type");
  }
  if (n != label_names_.size()) {
    throw std::logic_error("metric family '" + name_ + "' has " + std::to_string(label_names_.size()) +
                           " labels, sample gives " + std::to_string(n));
  }
}

void Family::append_labels(std::string& out, std::initializer_list<std::string_view> values) const {
  std::size_t i = 0;
  for (std::string_view v : values) {
    out += i == 0 ? "{" : ",";
    out += label_names_[i];
    out += "=\"";
    append_escaped_label_value(out, v);
    out += '"';
    ++i;
  }
}

void Family::begin_sample(std::initializer_list<std::string_view> label_values) {
  check(label_values.size(), false);
  ++series_;
  std::string& out = *out_;
  out += name_;
  append_labels(out, label_values);
  if (label_values.size() > 0) {
    out += '}';
  }
  out += ' ';
}

void Family::append_int(std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_->append(buf, end);
}

void Family::append_double(double v) {
  if (std::isnan(v)) {
    *out_ += "NaN";
  } else if (std::isinf(v)) {
    *out_ += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    // Whole numbers (timestamps, counts kept as double) without an exponent: easier to read.
    append_int(static_cast<std::int64_t>(v));
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_->append(buf, end);
  }
}

void Family::sample(std::initializer_list<std::string_view> label_values, double value) {
  begin_sample(label_values);
  append_double(value);
  out_->push_back('\n');
}

void Family::histogram(std::initializer_list<std::string_view> label_values, const Histogram& h) {
  histogram(label_values, h.buckets(), h.counts(), h.sum());
}

void Family::histogram(std::initializer_list<std::string_view> label_values, const Buckets& buckets,
                       std::span<const std::uint64_t> counts, double sum) {
  check(label_values.size(), true);
  if (counts.size() != buckets.le().size()) {
    throw std::logic_error("histogram '" + name_ + "': counts do not match its buckets");
  }
  ++series_;
  std::string& out = *out_;
  // The label part is rendered once and reused for every line of the series.
  std::string labels;
  append_labels(labels, label_values);
  const bool has_labels = label_values.size() > 0;
  std::string prefix;
  prefix.reserve(name_.size() + labels.size() + 16);
  prefix += name_;
  prefix += "_bucket";
  prefix += labels;
  prefix += has_labels ? ",le=\"" : "{le=\"";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    out += prefix;
    out += buckets.le()[i];
    out += "\"} ";
    append_int(static_cast<std::int64_t>(cumulative));
    out += '\n';
  }
  const auto tail = [&](const char* suffix) {
    out += name_;
    out += suffix;
    out += labels;
    if (has_labels) {
      out += '}';
    }
    out += ' ';
  };
  tail("_sum");
  append_double(sum);
  out += '\n';
  tail("_count");
  append_int(static_cast<std::int64_t>(cumulative));
  out += '\n';
}

Family& Writer::family(std::string_view name, std::string_view help, Type type,
                       std::initializer_list<std::string_view> label_names) {
  Family f(out_, name, help, type, label_names);
  const auto owned = f.owned_names();
  for (const auto& n : owned) {
    if (written_.contains(n)) {
      throw std::logic_error("metric family '" + n + "' written twice");
    }
  }
  written_.insert(owned.begin(), owned.end());
  f.write_header(out_);
  family_.emplace(std::move(f));
  ++families_;
  return *family_;
}

Family& Writer::current() {
  if (!family_) {
    throw std::logic_error("metrics sample written before any family");
  }
  return *family_;
}

Family& Collector::family(std::string_view name, std::string_view help, Type type,
                          std::initializer_list<std::string_view> label_names) {
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    Family& f = *it->second->family;
    const bool same_labels =
        std::equal(f.label_names().begin(), f.label_names().end(), label_names.begin(), label_names.end());
    if (f.type() != type || !same_labels) {
      throw std::logic_error("metric family '" + f.name() + "' declared twice with different type or labels");
    }
    return f;
  }
  auto slot = std::make_unique<Slot>();
  slot->family = std::make_unique<Family>(slot->samples, name, help, type, label_names);
  const auto owned = slot->family->owned_names();
  for (const auto& n : owned) {
    if (owned_.contains(n)) {
      throw std::logic_error("metric name '" + n + "' is already part of another family");
    }
  }
  owned_.insert(owned.begin(), owned.end());
  Slot* raw = slot.get();
  slots_.push_back(std::move(slot));
  by_name_.emplace(std::string(name), raw);
  return *raw->family;
}

void Collector::render(std::string& out) const {
  std::size_t size = 0;
  for (const auto& s : slots_) {
    size += s->samples.size() + s->family->help().size() + 2 * s->family->name().size() + 32;
  }
  out.reserve(out.size() + size);
  for (const auto& s : slots_) {
    if (s->family->series() == 0) {
      continue;
    }
    s->family->write_header(out);
    out += s->samples;
  }
}

void Collector::clear() {
  for (auto& s : slots_) {
    s->samples.clear();
    s->family->series_ = 0;
  }
}

}  // namespace tend::metrics
