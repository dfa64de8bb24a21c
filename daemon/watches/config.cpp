#include "watches/config.hpp"

#include <yaml-cpp/yaml.h>

#include "config/fields.hpp"
#include "config/values.hpp"
#include "watches/format.hpp"

namespace tend::watches {

config::SectionSpec section() { return {WatchConfig::kKind, "watches", read_watch}; }

std::shared_ptr<const config::EntrySettings> read_watch(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& /*ctx*/) {
  auto w = std::make_shared<WatchConfig>();
  w->name = name;
  m.require("file");
  m.read("file", w->file, config::check_absolute_path);
  std::vector<std::string_view> names;
  for (const auto* f : formats()) {
    names.push_back(f->name);
    for (auto key : f->keys) {
      m.known({key});
    }
  }
  m.read("format", w->format, config::Value::one_of("format", names));
  if (const auto* format = find_format(w->format)) {
    w->parsing = format->read(m);
    // Keys of the other formats are a mistake here, said plainly.
    for (const auto* other : formats()) {
      for (auto key : other->keys) {
        if (std::find(format->keys.begin(), format->keys.end(), key) != format->keys.end()) {
          continue;
        }
        if (auto v = m.get(key)) {
          v->error("'" + std::string(key) + "' applies only to format: " + std::string(other->name));
        }
      }
    }
  }
  m.read("window", w->window);
  m.read("min_requests", w->min_requests, 1, 1'000'000'000);
  const bool warning_ok = m.read("warning", w->warning);
  const bool critical_ok = m.read("critical", w->critical);
  const auto warning = m.get("warning");
  const auto critical = m.get("critical");
  if ((warning || critical) && (warning_ok || !warning) && (critical_ok || !critical) && w->warning >= w->critical) {
    (critical ? *critical : *warning)
        .error("warning (" + config::percent_text(w->warning) + ") must be below critical (" +
               config::percent_text(w->critical) + ")");
  }
  return w;
}

WatchConfig default_watch(std::string name, std::string file, std::string_view format) {
  WatchConfig w;
  w.name = std::move(name);
  w.file = std::move(file);
  w.format = std::string(format);
  // The format's defaults are what its reader makes of a mapping without its keys.
  config::Sources none;
  config::Context ctx(none);
  config::Value empty(ctx, YAML::Node(YAML::NodeType::Map), "", YAML::Mark());
  config::MapReader m(empty);
  if (const auto* f = find_format(format)) {
    w.parsing = f->read(m);
  }
  return w;
}

}  // namespace tend::watches
