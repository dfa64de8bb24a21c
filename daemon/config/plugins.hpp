#pragma once
// What the config reader learns from the modules above it: the entry kinds (each reads its own
// section), the notifier types (each reads its own keys) and the builtin job names. The loader
// validates with exactly the readers the runtime registered, so `tendd --check` accepts what the
// daemon runs and nothing else.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "config/reader.hpp"

namespace tend::config {

struct Plugins;

/// What an entry's reader may consult besides its own mapping.
struct ReadContext {
  const DaemonConfig& daemon;  // e.g. the default timezone
  const Plugins& plugins;      // e.g. the builtin names
  bool clustered = false;      // the main file has `cluster:` (run_on needs it)
};

/// An entry kind's section: `jobs:` holds `NAME: {...}` mappings of kind "job".
struct SectionSpec {
  std::string_view kind;     // "job"
  std::string_view section;  // "jobs"
  /// Read one entry's mapping (its name already checked); errors go to the reader's context.
  std::function<std::shared_ptr<const EntrySettings>(MapReader& m, const std::string& name, const ReadContext& ctx)>
      read;
};

/// A notifier type: `type: slack` and the keys it reads (url, headers, timeout, its own).
struct NotifierType {
  std::string_view type;
  std::function<void(MapReader& m, NotifierConfig& out)> read;
};

struct Plugins {
  std::vector<SectionSpec> sections;  // in registration order (also the order of Config::entries)
  std::vector<NotifierType> notifiers;
  std::vector<std::string_view> builtins;  // `builtin: NAME` of jobs
};

/// The common keys of a notifier that POSTs to a URL: `url` (required), `headers`, `timeout`.
void read_http_notifier(MapReader& m, NotifierConfig& out);

}  // namespace tend::config
