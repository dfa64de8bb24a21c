#pragma once
// `${...}` expansion of config string values: ${env:NAME}, ${env:NAME:-default}, ${file:/path},
// ${cred:NAME}. Any other `${...}` (a shell variable in `shell:`) is kept as written; `$${` is a
// literal `${`. Errors name the variable, file or credential, never a resolved value.

#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "util/expected.hpp"

namespace tend::config {

/// True when `text` contains a `${` that expansion would act on.
bool has_interpolation(std::string_view text);

/// Expand every `${env:...}`, `${file:...}`, `${cred:...}` in `text` from `sources` and turn `$${`
/// into `${`; other text is kept. The first problem is the error.
Expected<std::string> interpolate(std::string_view text, const Sources& sources);

/// `text` escaped so that interpolate() gives it back unchanged (for generated configs, e.g.
/// `tend import-crontab`): a `$` is added before each `${` that expansion would act on.
std::string escape_interpolation(std::string_view text);

}  // namespace tend::config
