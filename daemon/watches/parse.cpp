#include "watches/parse.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <charconv>

namespace tend::watches {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::optional<int> valid_status(std::int64_t v) {
  if (v < 100 || v > 599) {
    return std::nullopt;
  }
  return static_cast<int>(v);
}

/// A status right at `i`: three digits followed by a space or the end of the line.
std::optional<int> status_at(std::string_view s, std::size_t i) {
  if (i + 3 > s.size() || !is_digit(s[i]) || !is_digit(s[i + 1]) || !is_digit(s[i + 2])) {
    return std::nullopt;
  }
  if (i + 3 < s.size() && s[i + 3] != ' ') {
    return std::nullopt;
  }
  return valid_status((s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0'));
}

/// The status after the closing quote at `quote`: `" 502 `.
std::optional<int> status_after_quote(std::string_view s, std::size_t quote) {
  std::size_t i = quote + 1;
  if (i >= s.size() || s[i] != ' ') {
    return std::nullopt;
  }
  while (i < s.size() && s[i] == ' ') {
    ++i;
  }
  return status_at(s, i);
}

}  // namespace

std::optional<int> parse_combined(std::string_view s) {
  const auto open_time = s.find('[');
  if (open_time == std::string_view::npos) {
    return std::nullopt;
  }
  const auto close_time = s.find(']', open_time);
  if (close_time == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t i = close_time + 1;
  while (i < s.size() && s[i] == ' ') {
    ++i;
  }
  if (i >= s.size() || s[i] != '"') {
    return std::nullopt;
  }
  const std::size_t request = i + 1;
  // The request ends at the first quote not escaped by a backslash (apache writes \" and \\;
  // nginx writes \x22).
  for (i = request; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      break;
    }
  }
  if (i >= s.size()) {
    return std::nullopt;
  }
  if (auto status = status_after_quote(s, i)) {
    return status;
  }
  // A request with a raw quote in it (nginx with escape=none): the status follows a later quote.
  for (auto q = s.find('"', i + 1); q != std::string_view::npos; q = s.find('"', q + 1)) {
    if (auto status = status_after_quote(s, q)) {
      return status;
    }
  }
  return std::nullopt;
}

std::optional<int> parse_json(std::string_view line, const std::string& field) {
  // Parse into a stack buffer: a typical access-log object fits, so the hot path does not touch
  // the heap; bigger lines spill over to it.
  alignas(std::max_align_t) unsigned char buffer[8192];
  boost::json::monotonic_resource memory(buffer, sizeof buffer);
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;  // nginx escape=json passes non-UTF-8 bytes through
  boost::json::parser parser(boost::json::storage_ptr(&memory), options);
  boost::system::error_code ec;
  parser.write(line.data(), line.size(), ec);
  if (ec) {  // write() wants one complete text: trailing bytes and truncation are errors
    return std::nullopt;
  }
  const boost::json::value doc = parser.release();
  const boost::json::value* v = nullptr;
  if (!field.empty() && field.front() == '/') {
    boost::system::error_code pointer_ec;
    v = doc.find_pointer(field, pointer_ec);
  } else if (const auto* object = doc.if_object()) {
    v = object->if_contains(field);
  }
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return valid_status(v->get_int64());
  }
  if (v->is_uint64()) {
    return v->get_uint64() <= 599 ? valid_status(static_cast<std::int64_t>(v->get_uint64())) : std::nullopt;
  }
  if (v->is_double()) {
    const double d = v->get_double();
    if (d >= 100 && d < 600 && d == static_cast<double>(static_cast<int>(d))) {
      return static_cast<int>(d);
    }
    return std::nullopt;
  }
  if (const auto* text = v->if_string()) {
    int status = 0;
    const char* end = text->data() + text->size();
    auto [ptr, err] = std::from_chars(text->data(), end, status);
    if (err != std::errc() || ptr != end || text->empty()) {
      return std::nullopt;
    }
    return valid_status(status);
  }
  return std::nullopt;
}

}  // namespace tend::watches
