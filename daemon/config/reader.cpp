#include "config/reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <tuple>

#include "config/interpolate.hpp"

namespace tend::config {
namespace {

std::string join(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Type mismatches never echo a scalar: it might be a webhook URL or a token written in place.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a string";
    default:
      return "an empty value";
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("tiemout").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

// ---- Context ----

void Context::begin_file(std::string file, int index) {
  file_ = std::move(file);
  file_index_ = index;
}

Position Context::position(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0) {
    return Position{file_, 0, 0};
  }
  return Position{file_, mark.line + 1, mark.column + 1};
}

void Context::error(const YAML::Mark& mark, std::string path, std::string message) {
  error_at(position(mark), file_index_, std::move(path), std::move(message));
}

void Context::error_at(const Position& pos, int file_index, std::string path, std::string message) {
  errors_.push_back(Indexed{file_index, ConfigError{pos, std::move(path), std::move(message)}});
}

void Context::origin(const std::string& path, const YAML::Mark& mark) { origins_.emplace(path, position(mark)); }

void Context::expanded(const std::string& path, std::vector<Resolved> resolved) {
  auto& values = expanded_at_[path];
  for (auto& r : resolved) {
    values.push_back(r.value);
    resolved_.push_back(std::move(r));
  }
}

namespace {

// Whether `word` and `value` have `min` bytes in a row in common.
bool shares_run(std::string_view word, std::string_view value, std::size_t min) {
  for (std::size_t i = 0; i + min <= word.size(); ++i) {
    if (value.find(word.substr(i, min)) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// Each word of `text` (split at white space, without the quotes, brackets and punctuation around
// it) that has `min` or more bytes in a row in common with one of `values`, as `***`: a parser that
// quotes a field of the value it could not read ("invalid value s3cret"), or the value cut short
// ("unknown macro @every/s3cr...") or escaped ("@a\x00/s3cret"), shows no piece of it. Four bytes
// in a row also catch words of the message itself now and then ("p://" of "ftp://user:pw@h"):
// better a word too many masked than a piece of a secret shown; bare schemes are spared.
void mask_pieces(std::string& text, const std::vector<std::string>& values, std::size_t min) {
  constexpr std::string_view kSpace = " \t\n";
  constexpr std::string_view kAround = "'\"`()[]{}<>,;:.!?";
  std::size_t i = 0;
  while (i < text.size()) {
    const auto begin = text.find_first_not_of(kSpace, i);
    if (begin == std::string::npos) {
      break;
    }
    auto end = text.find_first_of(kSpace, begin);
    end = end == std::string::npos ? text.size() : end;
    auto first = begin;
    auto last = end;
    while (first < last && kAround.find(text[first]) != std::string_view::npos) {
      ++first;
    }
    while (last > first && kAround.find(text[last - 1]) != std::string_view::npos) {
      --last;
    }
    const std::string_view word = std::string_view(text).substr(first, last - first);
    // A bare scheme ("http://", in "must start with http://") is the check's own word and no secret.
    const bool scheme =
        word.size() > 3 && word.substr(word.size() - 3) == "://" && word.find_first_of(":/") == word.size() - 3;
    const bool secret = !scheme && std::any_of(values.begin(), values.end(), [&](const std::string& v) {
      return v.size() >= min && shares_run(word, v, min);
    });
    if (secret) {
      text.replace(first, last - first, "***");
      end = end - (last - first) + 3;
    }
    i = end;
  }
}

}  // namespace

std::vector<ConfigError> Context::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Indexed& a, const Indexed& b) {
    return std::tie(a.file_index, a.error.pos.line, a.error.pos.column) <
           std::tie(b.file_index, b.error.pos.line, b.error.pos.column);
  });
  // Longest values first, so that a value containing a shorter one is replaced whole. Values under
  // four bytes are no secrets worth hiding (a port, a flag) and would mangle unrelated text.
  std::stable_sort(resolved_.begin(), resolved_.end(),
                   [](const Resolved& a, const Resolved& b) { return a.value.size() > b.value.size(); });
  std::vector<ConfigError> out;
  out.reserve(errors_.size());
  constexpr std::size_t kMinSecret = 4;
  for (auto& e : errors_) {
    auto& message = e.error.message;
    for (const auto& r : resolved_) {
      if (r.value.size() < kMinSecret) {
        continue;
      }
      for (auto pos = message.find(r.value); pos != std::string::npos;
           pos = message.find(r.value, pos + r.placeholder.size())) {
        message.replace(pos, r.value.size(), r.placeholder);
      }
    }
    if (auto it = expanded_at_.find(e.error.key_path); it != expanded_at_.end()) {
      mask_pieces(message, it->second, kMinSecret);
    }
    out.push_back(std::move(e.error));
  }
  errors_.clear();
  return out;
}

// ---- Scalar ----

std::string Scalar::shown() const { return expanded ? "'" + raw + "' (expanded)" : "'" + value + "'"; }

// ---- Value ----

Value::Value(Context& ctx, YAML::Node node, std::string path, YAML::Mark key_mark)
    : ctx_(&ctx),
      node_(node),
      path_(std::move(path)),
      key_mark_(key_mark),
      mark_(node_.Mark()) {  // yaml-cpp nodes copy cheaply (shared)
  // yaml-cpp places an empty value (`timeout:` and a newline) at the start of the next line.
  if (mark_.is_null() || (node_.IsNull() && mark_.line != key_mark_.line && !key_mark_.is_null())) {
    mark_ = key_mark_;
  }
}

void Value::error(std::string message) const { ctx_->error(mark_, path_, std::move(message)); }

std::string Value::key_name() const {
  const auto dot = path_.rfind('.');
  std::string name = dot == std::string::npos ? path_ : path_.substr(dot + 1);
  return name.substr(0, name.find('['));
}

void Value::invalid(const Scalar& s, const std::string& message, std::string_view what) const {
  error(s.expanded ? s.shown() + " is not " + std::string(what) : message);
}

std::optional<Scalar> Value::scalar(std::string_view what) const {
  if (!node_.IsScalar()) {
    error("expected " + std::string(what) + ", got " + describe(node_));
    return std::nullopt;
  }
  Scalar s{node_.Scalar(), node_.Scalar(), false};
  if (has_interpolation(s.raw)) {
    std::vector<Resolved> resolved;
    auto expanded = interpolate(s.raw, ctx_->sources(), &resolved);
    ctx_->expanded(path_, std::move(resolved));
    if (!expanded) {
      error(expanded.error());
      return std::nullopt;
    }
    s.value = std::move(*expanded);
    s.expanded = true;
  }
  if (s.value.find('\0') != std::string::npos) {
    // No path, argument, variable or header can carry one: exec and the kernel would cut it there.
    error("must not contain a NUL byte");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> Value::string(const StringCheck& check) const {
  auto s = scalar();
  if (!s) {
    return std::nullopt;
  }
  if (check) {
    if (auto problem = check(s->value, s->shown())) {
      error(*problem);
      return std::nullopt;
    }
  }
  return std::move(s->value);
}

std::optional<Duration> Value::duration(Duration min) const {
  auto s = scalar("a duration (e.g. 30s, 5m)");
  if (!s) {
    return std::nullopt;
  }
  auto d = parse_duration(s->value);
  if (!d) {
    invalid(*s, d.error(), "a valid duration (e.g. 30s, 5m)");
    return std::nullopt;
  }
  if (*d < min) {
    error(min == kPositive ? "must be greater than 0" : "must be at least " + format_duration(min));
    return std::nullopt;
  }
  return *d;
}

std::optional<long long> Value::integer(long long min, long long max) const {
  auto s = scalar("an integer");
  if (!s) {
    return std::nullopt;
  }
  const std::string& t = s->value;
  const char* first = t.data();
  const char* last = t.data() + t.size();
  if (first != last && *first == '+') {
    ++first;
  }
  long long n = 0;
  const auto [ptr, ec] = std::from_chars(first, last, n);
  if (ec == std::errc::result_out_of_range) {
    error("must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  if (ec != std::errc{} || ptr != last || first == last) {
    invalid(*s, "expected an integer, got '" + t + "'", "an integer");
    return std::nullopt;
  }
  if (n < min) {
    error("must be at least " + std::to_string(min));
    return std::nullopt;
  }
  if (n > max) {
    error("must be at most " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> Value::boolean() const {
  auto s = scalar("true or false");
  if (!s) {
    return std::nullopt;
  }
  // Only YAML 1.2 booleans: `yes`/`on`/`n` being booleans is a classic YAML 1.1 trap.
  if (s->value == "true" || s->value == "True" || s->value == "TRUE") {
    return true;
  }
  if (s->value == "false" || s->value == "False" || s->value == "FALSE") {
    return false;
  }
  invalid(*s, "expected true or false, got '" + s->value + "'", "true or false");
  return std::nullopt;
}

std::optional<double> Value::percent() const {
  auto s = scalar("a percentage (e.g. 5%)");
  if (!s) {
    return std::nullopt;
  }
  std::string_view t = s->value;
  if (!t.empty() && t.back() == '%') {
    t.remove_suffix(1);
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size() || t.empty() || !std::isfinite(v) || v < 0 || v > 100) {
    invalid(*s, "expected a percentage from 0 to 100 (e.g. 5%), got '" + s->value + "'", "a percentage from 0 to 100");
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<Value>> Value::items() const {
  std::vector<Value> out;
  if (node_.IsNull()) {
    return out;
  }
  if (!node_.IsSequence()) {
    error("expected a list, got " + describe(node_));
    return std::nullopt;
  }
  std::size_t i = 0;
  for (const auto& item : node_) {
    out.emplace_back(*ctx_, item, path_ + "[" + std::to_string(i++) + "]", item.Mark());
  }
  return out;
}

std::optional<std::vector<std::string>> Value::string_list(bool non_empty, const StringCheck& check) const {
  if (!node_.IsNull() && !node_.IsSequence()) {
    error("expected a list of strings, got " + describe(node_));
    return std::nullopt;
  }
  auto list = items();
  if (!list) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : *list) {
    if (!item.node().IsScalar()) {
      item.error("expected a list of strings, got " + describe(item.node()) + " in it");
      ok = false;
      continue;
    }
    auto s = item.string(check);
    ok = ok && s.has_value();
    if (s) {
      out.push_back(std::move(*s));
    }
  }
  if (ok && non_empty && out.empty()) {
    error("must not be empty");
    return std::nullopt;
  }
  return ok ? std::optional(std::move(out)) : std::nullopt;
}

std::optional<std::map<std::string, std::string>> Value::string_map(const StringCheck& key_check,
                                                                    const StringCheck& value_check) const {
  MapReader m(*this);
  if (!m.valid()) {
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  bool ok = true;
  for (const auto& e : m.entries()) {
    if (key_check) {
      if (auto problem = key_check(e.key, "'" + e.key + "'")) {
        context().error(e.key_mark, e.value.path(), *problem);
        ok = false;
        continue;
      }
    }
    auto s = e.value.string(value_check);
    ok = ok && s.has_value();
    if (s) {
      out.emplace(e.key, std::move(*s));
    }
  }
  return ok ? std::optional(std::move(out)) : std::nullopt;
}

StringCheck Value::one_of(std::string what, std::vector<std::string_view> words) {
  return [what = std::move(what), words = std::move(words)](const std::string& value,
                                                            const std::string& shown) -> std::optional<std::string> {
    if (std::find(words.begin(), words.end(), value) != words.end()) {
      return std::nullopt;
    }
    std::string known;
    for (const auto& w : words) {
      known += (known.empty() ? "" : ", ") + std::string(w);
    }
    return "unknown " + what + " " + shown + " (known: " + known + ")";
  };
}

// ---- MapReader ----

MapReader::MapReader(const Value& value) : self_(value) {
  const YAML::Node& node = value.node();
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    value.error("expected a mapping, got " + describe(node));
    valid_ = false;
    return;
  }
  collect(node, 0, false);
}

bool Context::merge_step(const YAML::Mark& mark, const std::string& path) {
  // 100,000 merged keys is hundreds of times what a large config merges; a 2 KB file whose five
  // levels each merge the previous one ten times wants 10^5 times more.
  constexpr std::size_t kMaxMerged = 100'000;
  if (++merged_ <= kMaxMerged) {
    return true;
  }
  if (!merge_bomb_reported_) {
    merge_bomb_reported_ = true;
    error(mark, path,
          "merge keys ('<<') bring in more than " + std::to_string(kMaxMerged) +
              " keys: the anchors merge each other too many times");
  }
  return false;
}

void MapReader::collect(const YAML::Node& node, int merge_depth, bool merged) {
  Context& ctx = self_.context();
  for (const auto& pair : node) {
    if (merged && !ctx.merge_step(pair.first.Mark(), self_.path())) {
      return;
    }
    // Copies: yaml-cpp's iterator hands out pairs of temporaries.
    const YAML::Node key_node = pair.first;
    const YAML::Node value_node = pair.second;
    if (!key_node.IsScalar()) {
      ctx.error(key_node.Mark(), self_.path(), "expected a string key, got " + describe(key_node));
      continue;
    }
    const std::string& key = key_node.Scalar();
    if (key == "<<" && key_node.Tag() == "?") {
      // YAML 1.1 merge key, which yaml-cpp 0.7 does not apply: shared defaults via anchors are common.
      const YAML::Node& source = value_node;
      if (merge_depth >= 8) {
        ctx.error(key_node.Mark(), self_.path(), "merge keys ('<<') nested too deeply");
      } else if (source.IsMap()) {
        collect(source, merge_depth + 1, true);
      } else if (source.IsSequence() &&
                 std::all_of(source.begin(), source.end(), [](const YAML::Node& n) { return n.IsMap(); })) {
        for (const auto& m : source) {
          collect(m, merge_depth + 1, true);
        }
      } else {
        ctx.error(key_node.Mark(), self_.path(), "a merge key ('<<') needs a mapping or a list of mappings");
      }
      continue;
    }
    Slot slot{Entry{key, key_node.Mark(), Value(ctx, value_node, join(self_.path(), key), key_node.Mark())}};
    slot.merged = merged;
    Slot* existing = find(key);
    if (existing == nullptr) {
      index_.emplace(key, slots_.size());
      slots_.push_back(std::move(slot));
    } else if (merged) {
      // A key written explicitly, or merged earlier, wins over a later merge.
    } else if (existing->merged) {
      *existing = std::move(slot);
    } else {
      const Position first = ctx.position(existing->entry.key_mark);
      ctx.error(key_node.Mark(), join(self_.path(), key),
                "duplicate key '" + key + "' (first at line " + std::to_string(first.line) + ", column " +
                    std::to_string(first.column) + ")");
    }
  }
}

MapReader::Slot* MapReader::find(std::string_view key) {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &slots_[it->second];
}

void MapReader::ask(std::string_view key) {
  known_.emplace_back(key);
  if (const auto& hook = self_.context().sources().on_key) {
    hook(self_.path(), key);
  }
}

std::optional<Value> MapReader::get(std::string_view key) {
  ask(key);
  Slot* s = find(key);
  if (s == nullptr) {
    return std::nullopt;
  }
  s->used = true;
  self_.context().origin(s->entry.value.path(), s->entry.key_mark);
  return s->entry.value;
}

bool MapReader::has(std::string_view key) { return get(key).has_value(); }

void MapReader::known(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    ask(k);
  }
}

bool MapReader::require(std::string_view key) {
  ask(key);
  if (find(key) != nullptr) {
    return true;
  }
  if (valid_) {
    self_.context().error(self_.key_mark(), self_.path(), "missing required key '" + std::string(key) + "'");
  }
  return false;
}

const std::vector<MapReader::Entry>& MapReader::entries() {
  if (entries_.empty()) {
    for (auto& s : slots_) {
      s.used = true;
      self_.context().origin(s.entry.value.path(), s.entry.key_mark);
      entries_.push_back(s.entry);
    }
  }
  return entries_;
}

void MapReader::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  for (const auto& s : slots_) {
    if (s.used) {
      continue;
    }
    std::string message = "unknown key '" + s.entry.key + "'";
    if (auto near = suggest(s.entry.key, known_)) {
      message += " (did you mean '" + *near + "'?)";
    }
    self_.context().error(s.entry.key_mark, s.entry.value.path(), std::move(message));
  }
}

bool MapReader::read(std::string_view key, std::string& out, const StringCheck& check) {
  auto v = get(key);
  auto s = v ? v->string(check) : std::nullopt;
  if (s) {
    out = std::move(*s);
  }
  return s.has_value();
}

bool MapReader::read(std::string_view key, Duration& out, Duration min) {
  auto v = get(key);
  auto d = v ? v->duration(min) : std::nullopt;
  if (d) {
    out = *d;
  }
  return d.has_value();
}

bool MapReader::read(std::string_view key, std::optional<Duration>& out, Duration min) {
  auto v = get(key);
  auto d = v ? v->duration(min) : std::nullopt;
  if (d) {
    out = *d;
  }
  return d.has_value();
}

bool MapReader::read(std::string_view key, int& out, int min, int max) {
  auto v = get(key);
  auto n = v ? v->integer(min, max) : std::nullopt;
  if (n) {
    out = static_cast<int>(*n);
  }
  return n.has_value();
}

bool MapReader::read(std::string_view key, bool& out) {
  auto v = get(key);
  auto b = v ? v->boolean() : std::nullopt;
  if (b) {
    out = *b;
  }
  return b.has_value();
}

bool MapReader::read(std::string_view key, double& percent_out) {
  auto v = get(key);
  auto p = v ? v->percent() : std::nullopt;
  if (p) {
    percent_out = *p;
  }
  return p.has_value();
}

bool MapReader::read(std::string_view key, std::vector<std::string>& out, bool non_empty, const StringCheck& check) {
  auto v = get(key);
  auto l = v ? v->string_list(non_empty, check) : std::nullopt;
  if (l) {
    out = std::move(*l);
  }
  return l.has_value();
}

bool MapReader::read(std::string_view key, std::optional<std::string>& out, const StringCheck& check) {
  std::string s;
  if (read(key, s, check)) {
    out = std::move(s);
    return true;
  }
  return false;
}

bool MapReader::read(std::string_view key, std::map<std::string, std::string>& out, const StringCheck& key_check,
                     const StringCheck& value_check) {
  auto v = get(key);
  auto m = v ? v->string_map(key_check, value_check) : std::nullopt;
  if (m) {
    out = std::move(*m);
  }
  return m.has_value();
}

bool MapReader::section(std::string_view key, const std::function<void(MapReader&)>& fn) {
  auto v = get(key);
  if (!v) {
    return false;
  }
  MapReader m(*v);
  if (!m.valid()) {
    return false;
  }
  fn(m);
  m.finish();
  return true;
}

std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string w = lower(word);
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, w.size() / 3)) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(w, lower(c));
    if (d < best_distance && d < c.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace tend::config
