#pragma once

#include <string_view>

namespace tend {

/// Entry names match [A-Za-z0-9_.-]+ (jobs, probes, watches, checks, notifiers).
bool valid_name(std::string_view name);

/// Shell-style glob match with * and ? (for alert route `name:` patterns).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace tend
