#pragma once
// A watch's settings (`watches: NAME: {...}`) and their reader.

#include <memory>
#include <string>
#include <string_view>

#include "config/plugins.hpp"

namespace tend::watches {

using namespace std::chrono_literals;

struct WatchConfig : config::Settings<WatchConfig> {
  static constexpr std::string_view kKind = "watch";

  std::string name;
  std::string file;
  std::string format = "combined";                       // a LogFormat's name
  std::shared_ptr<const config::EntrySettings> parsing;  // that format's own settings
  Duration window = 5min;
  int min_requests = 20;
  double warning = 5.0;    // percent
  double critical = 10.0;  // percent
  bool operator==(const WatchConfig& o) const {
    return name == o.name && file == o.file && format == o.format && config::same_settings(parsing, o.parsing) &&
           window == o.window && min_requests == o.min_requests && warning == o.warning && critical == o.critical;
  }
};

/// The `watches:` section: kind "watch", read by read_watch.
config::SectionSpec section();

/// Read one watch's mapping.
std::shared_ptr<const config::EntrySettings> read_watch(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& ctx);

/// A watch of `format` with that format's default settings (tests, tools).
WatchConfig default_watch(std::string name, std::string file, std::string_view format = "combined");

}  // namespace tend::watches
