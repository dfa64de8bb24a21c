#pragma once
// The request target → a path the router can match. Nothing is ever read from disk, but a
// path is still normalised strictly so that one page has one address and "/../" tricks (also
// percent-encoded) are refused rather than interpreted.

#include <string>
#include <string_view>

#include "util/expected.hpp"

namespace tend::web {

struct Target {
  std::string path;   // percent-decoded, starts with '/'
  std::string query;  // raw, without '?'
};

/// Parse an origin-form ("/a/b?q") or absolute-form ("http://host/a/b?q") request target.
/// Refused (the error says why; the server answers 400): a target that is neither, bad or
/// encoded-NUL percent escapes, control characters or invalid UTF-8 after decoding, and "."
/// or ".." segments or empty segments ("//"), whether written plainly or percent-encoded.
Expected<Target> parse_target(std::string_view raw);

/// Percent-encode a path segment (anything but [A-Za-z0-9_.~-]), for links to /entry/NAME.
std::string encode_segment(std::string_view segment);

}  // namespace tend::web
