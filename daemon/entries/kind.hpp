#pragma once
// One entry kind, as registered (daemon/plugins/): its config section and reader, and its factory.

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "config/plugins.hpp"
#include "entries/entry.hpp"
#include "entries/services.hpp"

namespace tend::entries {

struct KindSpec {
  /// `jobs:` holds entries of kind "job", read by this reader.
  config::SectionSpec section;
  /// A new entry of this kind (not started yet).
  std::function<std::shared_ptr<Entry>(Services& services, const config::EntryConfig& cfg)> make;
  /// The socket commands aimed at entries of this kind ("run" at jobs): an unknown name is then
  /// "unknown job 'x'", in the kind's own word.
  std::vector<std::string_view> commands = {};
};

}  // namespace tend::entries
