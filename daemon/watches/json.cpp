// `format: json`: one JSON object a line (nginx `log_format ... escape=json`), the status in
// `status_field` (a member name, or a JSON pointer).

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "config/values.hpp"
#include "watches/format.hpp"
#include "watches/parse.hpp"

namespace tend::watches {
namespace {

struct JsonSettings : config::Settings<JsonSettings> {
  std::string status_field = "status";
  bool operator==(const JsonSettings&) const = default;
};

class JsonParser final : public LineParser {
 public:
  explicit JsonParser(std::string field) : field_(std::move(field)) {}
  [[nodiscard]] std::optional<int> status(std::string_view line) const override { return parse_json(line, field_); }

 private:
  std::string field_;
};

}  // namespace

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

extern const LogFormat json_format;
const LogFormat json_format{
    "json",
    {"status_field"},
    [](config::MapReader& watch) -> std::shared_ptr<const config::EntrySettings> {
      auto out = std::make_shared<JsonSettings>();
      watch.read("status_field", out->status_field, config::check_not_empty);
      return out;
    },
    [](const config::EntrySettings& settings) -> std::unique_ptr<LineParser> {
      return std::make_unique<JsonParser>(static_cast<const JsonSettings&>(settings).status_field);
    },
};

}  // namespace tend::watches
