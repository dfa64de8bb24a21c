#pragma once
// The readers of the sections config owns (daemon, notifiers, alerts) and the loop over the entry
// kinds' sections, whose readers the kinds register (Plugins). Checks that need every file (names,
// notifier references, the default route) are left to the loader. Internal.

#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "config/plugins.hpp"
#include "config/reader.hpp"

namespace tend::config::detail {

/// A name defined somewhere, for the uniqueness checks once every file is read.
struct NameDef {
  std::string path;  // "jobs.api"
  std::string name;
  Position pos;
  int file_index = 0;
};

/// A notifier named by a route or escalation, checked once every file is read.
struct NotifierRef {
  std::string name;
  std::string path;  // "alerts.routes[0].notify[1]"
  Position pos;
  int file_index = 0;
};

/// A position in one of the files of a load (`file_index` orders errors).
struct Where {
  Position pos;
  int file_index = 0;
};

/// What the main file and its includes contribute, before the cross-file checks.
struct Collected {
  Config config;
  std::vector<NameDef> entry_names;  // every entry kind: one namespace
  std::vector<NameDef> notifier_names;
  std::vector<NotifierRef> notifier_refs;
  std::optional<Where> alerts_at;     // `alerts:` (or its `routes:`), for "a default route is required"
  std::optional<Where> notifiers_at;  // the first non-empty `notifiers:`
};

/// `daemon:` into `out` (which holds the defaults).
void read_daemon(MapReader& m, DaemonConfig& out);

/// `cluster:` (main file only): read, then checked key by key with cluster::problems(), the
/// checks the cluster module itself relies on.
void read_cluster(MapReader& m, const DaemonConfig& daemon, std::optional<cluster::Settings>& out);

/// `alerts:`; notifier names are recorded for the loader to check.
void read_alerts(MapReader& m, Collected& c);

/// The sections a file may hold besides the main file's own (notifiers and every registered
/// entry kind's section), if present.
void read_entry_sections(MapReader& root, Collected& c, const Plugins& plugins);

}  // namespace tend::config::detail
