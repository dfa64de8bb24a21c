// The one table of log formats. Adding one = its file + one line here.

#include <algorithm>

#include "watches/format.hpp"

namespace tend::watches {

extern const LogFormat json_format, combined_format;

namespace {
const LogFormat* const kFormats[] = {&json_format, &combined_format};
}  // namespace

std::span<const LogFormat* const> formats() { return kFormats; }

const LogFormat* find_format(std::string_view name) {
  const auto* it =
      std::find_if(std::begin(kFormats), std::end(kFormats), [&](const auto* f) { return f->name == name; });
  return it == std::end(kFormats) ? nullptr : *it;
}

}  // namespace tend::watches
