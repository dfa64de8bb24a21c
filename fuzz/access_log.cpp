// Access-log lines (a watched file's content, written by whoever can write the log): the combined
// and JSON formats. Input: the line; the JSON format is tried with a member name and a pointer.
// Property: no crash, and a status is always 100-599.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "watches/parse.hpp"

namespace {

void check_status(std::optional<int> s) {
  if (s && (*s < 100 || *s > 599)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  check_status(tend::watches::parse_combined(line));
  static const std::string member = "status";
  static const std::string pointer = "/response/status";
  check_status(tend::watches::parse_json(line, member));
  check_status(tend::watches::parse_json(line, pointer));
  return 0;
}
