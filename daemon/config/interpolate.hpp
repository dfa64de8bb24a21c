#pragma once
// `${...}` expansion of config string values: ${env:NAME}, ${env:NAME:-default}, ${file:/path},
// ${cred:NAME}. Any other `${...}` (a shell variable in `shell:`) is kept as written; `$${` is a
// literal `${`. Errors name the variable, file or credential, never a resolved value.

#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"
#include "util/expected.hpp"

namespace tend::config {

/// True when `text` contains a `${` that expansion would act on.
bool has_interpolation(std::string_view text);

/// One expansion: the value it gave and the `${...}` text it came from.
struct Resolved {
  std::string value;
  std::string placeholder;
};

/// Expand every `${env:...}`, `${file:...}`, `${cred:...}` in `text` from `sources` and turn `$${`
/// into `${`; other text is kept. The first problem is the error. With `resolved`, each expansion
/// is also appended there (so that messages can be kept free of the values).
Expected<std::string> interpolate(std::string_view text, const Sources& sources,
                                  std::vector<Resolved>* resolved = nullptr);

/// `text` escaped so that interpolate() gives it back unchanged (for generated configs, e.g.
/// `tend import-crontab`): a `$` is added before each `${` that expansion would act on.
std::string escape_interpolation(std::string_view text);

}  // namespace tend::config
