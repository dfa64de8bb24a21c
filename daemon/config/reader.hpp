#pragma once
// A typed reader over yaml-cpp nodes that tracks the key path and position of every value and
// collects errors instead of throwing, so each config section reads as a short list of keys.
// Public: entry kinds and variants read their own keys with it.

#include <yaml-cpp/yaml.h>

#include <array>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/interpolate.hpp"
#include "config/loader.hpp"
#include "config/model.hpp"
#include "util/duration.hpp"

namespace tend::config {

/// What one load shares: the outside world, the file being read, the errors and origins collected.
class Context {
 public:
  explicit Context(const Sources& sources) : sources_(sources) {}

  /// Switch to another file (the main file is index 0; includes follow in load order).
  void begin_file(std::string file, int index);
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] int file_index() const { return file_index_; }
  [[nodiscard]] const Sources& sources() const { return sources_; }

  /// The 1-based position of a yaml-cpp mark in the current file.
  [[nodiscard]] Position position(const YAML::Mark& mark) const;
  /// Record an error at `mark` in the current file.
  void error(const YAML::Mark& mark, std::string path, std::string message);
  /// Record an error at a position that may be in another file (`file_index` orders it).
  void error_at(const Position& pos, int file_index, std::string path, std::string message);
  /// Remember where `path` was defined; the first definition wins.
  void origin(const std::string& path, const YAML::Mark& mark);
  /// Count one key brought in by a merge (`<<`); false once a load has merged more than any
  /// config needs (a merge bomb: each level multiplies), with the error recorded once.
  bool merge_step(const YAML::Mark& mark, const std::string& path);

  /// The `${...}` expansions of the value at `path`: take_errors() keeps them out of messages.
  void expanded(const std::string& path, std::vector<Resolved> resolved);

  [[nodiscard]] bool has_errors() const { return !errors_.empty(); }
  /// The errors in file order (main file first, then includes; by line and column within a file).
  /// A value a `${...}` gave never appears in a message, whatever check quoted it: whole, it reads
  /// as the `${...}` it came from; in an error about that very value, any word of the message with
  /// four bytes in a row of it reads as `***` (a parser may quote a field of it, or the value cut
  /// short or escaped).
  std::vector<ConfigError> take_errors();
  std::map<std::string, Position> take_origins() { return std::move(origins_); }

 private:
  struct Indexed {
    int file_index;
    ConfigError error;
  };
  const Sources& sources_;
  std::string file_;
  int file_index_ = 0;
  std::vector<Indexed> errors_;
  std::map<std::string, Position> origins_;
  std::vector<Resolved> resolved_;
  std::map<std::string, std::vector<std::string>> expanded_at_;  // path -> the values its ${...} gave
  std::size_t merged_ = 0;
  bool merge_bomb_reported_ = false;
};

/// A scalar's text after `${...}` expansion, and how to show it in a message without leaking a secret.
struct Scalar {
  std::string value;
  std::string raw;        // as written
  bool expanded = false;  // raw contained ${...}
  /// "'teams'", or "'${env:TYPE}' (expanded)" so a resolved value never reaches a message.
  [[nodiscard]] std::string shown() const;
};

/// Validates a string value: nullopt when fine, else the message. `shown` is the safe display form.
using StringCheck = std::function<std::optional<std::string>(const std::string& value, const std::string& shown)>;

/// Allowed words for an enumerated value, in the order messages list them.
template <class E>
using Choices = std::initializer_list<std::pair<std::string_view, E>>;

/// Durations of at least this are accepted by default; kAnyDuration also accepts 0s.
inline constexpr Duration kPositive{1};
inline constexpr Duration kAnyDuration{0};

/// One YAML value at a key path, with conversions that report their own errors and return nullopt.
class Value {
 public:
  Value(Context& ctx, YAML::Node node, std::string path, YAML::Mark key_mark);

  [[nodiscard]] const YAML::Node& node() const { return node_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  /// The value's position (the key's, for an empty value).
  [[nodiscard]] const YAML::Mark& mark() const { return mark_; }
  [[nodiscard]] const YAML::Mark& key_mark() const { return key_mark_; }
  [[nodiscard]] Context& context() const { return *ctx_; }
  [[nodiscard]] bool is_null() const { return node_.IsNull(); }
  /// Record an error at this value.
  void error(std::string message) const;

  /// Any scalar, expanded; `what` names the expected type in the error ("a string").
  [[nodiscard]] std::optional<Scalar> scalar(std::string_view what = "a string") const;
  [[nodiscard]] std::optional<std::string> string(const StringCheck& check = {}) const;
  [[nodiscard]] std::optional<Duration> duration(Duration min = kPositive) const;
  [[nodiscard]] std::optional<long long> integer(long long min, long long max) const;
  [[nodiscard]] std::optional<bool> boolean() const;
  /// "5%", "5", "5.5%": a number from 0 to 100.
  [[nodiscard]] std::optional<double> percent() const;
  /// A list (an empty value is an empty list); "expected a list" otherwise.
  [[nodiscard]] std::optional<std::vector<Value>> items() const;
  [[nodiscard]] std::optional<std::vector<std::string>> string_list(bool non_empty = false,
                                                                    const StringCheck& check = {}) const;
  [[nodiscard]] std::optional<std::map<std::string, std::string>> string_map(const StringCheck& key_check = {},
                                                                             const StringCheck& value_check = {}) const;

  template <class E>
  [[nodiscard]] std::optional<E> choice(Choices<E> choices) const {
    return choice_in<E>(choices);
  }
  template <class E, std::size_t N>
  [[nodiscard]] std::optional<E> choice(const std::array<std::pair<std::string_view, E>, N>& choices) const {
    return choice_in<E>(choices);
  }

  /// The last component of the key path ("timeout" for "jobs.backup.timeout").
  [[nodiscard]] std::string key_name() const;
  /// A check accepting only `words`: "unknown WHAT 'x' (known: a, b)".
  static StringCheck one_of(std::string what, std::vector<std::string_view> words);

 private:
  template <class E, class Range>
  [[nodiscard]] std::optional<E> choice_in(const Range& choices) const {
    std::vector<std::string_view> words;
    for (const auto& c : choices) {
      words.push_back(c.first);
    }
    const std::optional<std::string> word = string(one_of(key_name(), words));
    if (!word) {
      return std::nullopt;
    }
    for (const auto& c : choices) {
      if (c.first == *word) {
        return c.second;
      }
    }
    return std::nullopt;
  }
  void invalid(const Scalar& s, const std::string& message, std::string_view what) const;

  Context* ctx_;
  YAML::Node node_;
  std::string path_;
  YAML::Mark key_mark_;
  YAML::Mark mark_;
};

/// A mapping being read. Every key asked for counts as known; finish() reports the others as
/// unknown (with the nearest known key as a suggestion). Duplicate keys are reported on construction.
/// YAML merge keys (`<<: *defaults`) are honoured, explicit keys winning.
class MapReader {
 public:
  /// Reads `value` as a mapping; an empty value is an empty mapping, anything else "expected a mapping".
  explicit MapReader(const Value& value);
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  /// False when the value was not a mapping (the error is already recorded).
  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] const Value& self() const { return self_; }

  /// The value at `key` if present; marks the key known and used.
  [[nodiscard]] std::optional<Value> get(std::string_view key);
  /// Whether `key` is present; marks it known and used.
  bool has(std::string_view key);
  /// Mark keys as known (for suggestions) without reading them.
  void known(std::initializer_list<std::string_view> keys);
  /// "missing required key 'url'" at this mapping's key when absent.
  bool require(std::string_view key);

  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    Value value;
  };
  /// All entries in document order (a name -> config map); marks them all used.
  const std::vector<Entry>& entries();
  /// Report the keys nobody asked for.
  void finish();

  // Declarative readers: `out` is left alone when the key is absent or its value invalid; they
  // return true when `out` was set.
  bool read(std::string_view key, std::string& out, const StringCheck& check = {});
  bool read(std::string_view key, Duration& out, Duration min = kPositive);
  bool read(std::string_view key, std::optional<Duration>& out, Duration min = kPositive);
  bool read(std::string_view key, int& out, int min, int max);
  bool read(std::string_view key, bool& out);
  bool read(std::string_view key, double& percent_out);
  bool read(std::string_view key, std::vector<std::string>& out, bool non_empty = false, const StringCheck& check = {});
  bool read(std::string_view key, std::optional<std::string>& out, const StringCheck& check = {});
  bool read(std::string_view key, std::map<std::string, std::string>& out, const StringCheck& key_check = {},
            const StringCheck& value_check = {});

  template <class E>
  bool read(std::string_view key, E& out, Choices<E> choices) {
    return read_choice<E>(key, out, choices);
  }
  template <class E, std::size_t N>
  bool read(std::string_view key, E& out, const std::array<std::pair<std::string_view, E>, N>& choices) {
    return read_choice<E>(key, out, choices);
  }
  template <class E>
  bool read(std::string_view key, std::optional<E>& out, Choices<E> choices) {
    E tmp{};
    if (read_choice<E>(key, tmp, choices)) {
      out = tmp;
      return true;
    }
    return false;
  }
  template <class E, std::size_t N>
  bool read(std::string_view key, std::optional<E>& out, const std::array<std::pair<std::string_view, E>, N>& choices) {
    E tmp{};
    if (read_choice<E>(key, tmp, choices)) {
      out = tmp;
      return true;
    }
    return false;
  }

  /// Read the mapping at `key` with `fn`, then report its unknown keys. False when absent or not a mapping.
  bool section(std::string_view key, const std::function<void(MapReader&)>& fn);

 private:
  /// Note `key` as one this map may have (suggestions; Sources::on_key).
  void ask(std::string_view key);
  template <class E, class Range>
  bool read_choice(std::string_view key, E& out, const Range& choices) {
    auto v = get(key);
    auto e = v ? v->choice(choices) : std::nullopt;
    if (e) {
      out = *e;
    }
    return e.has_value();
  }
  struct Slot {
    Entry entry;
    bool used = false;
    bool merged = false;  // came from a `<<` merge
  };
  void collect(const YAML::Node& node, int merge_depth, bool merged);
  Slot* find(std::string_view key);

  Value self_;
  bool valid_ = true;
  bool finished_ = false;
  std::vector<Slot> slots_;
  std::map<std::string, std::size_t, std::less<>> index_;  // key -> slot
  std::vector<std::string> known_;
  std::vector<Entry> entries_;
};

/// The nearest of `candidates` to `word` by edit distance, when close enough to be a likely typo.
std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace tend::config
