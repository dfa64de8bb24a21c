#pragma once
// `${...}` expansion of config string values: ${env:NAME}, ${env:NAME:-default}, ${file:/path},
// ${cred:NAME}. Errors name the variable, file or credential, never a resolved value.

#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "util/expected.hpp"

namespace tend::config {

/// True when `text` contains a `${` that expansion would act on.
bool has_interpolation(std::string_view text);

/// Expand every `${source:arg}` in `text` from `sources`; the first problem is the error.
Expected<std::string> interpolate(std::string_view text, const Sources& sources);

}  // namespace tend::config
