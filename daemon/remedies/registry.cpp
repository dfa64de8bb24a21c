// The one table of remedy types. Adding one = its file + one line here (and its reader in
// config/sections.cpp, whose list config::remedy_types() a unit test holds equal to this one).

#include <algorithm>
#include <array>
#include <string_view>

#include "remedies/kinds.hpp"
#include "remedies/remedy.hpp"

namespace tend::remedies {
namespace {

using Factory = Expected<std::unique_ptr<Remedy>> (*)(const config::RemedyConfig&, Context&);

struct Entry {
  std::string_view type;
  Factory make;
};

constexpr std::array<Entry, 3> kTable = {{
    {"pm2", &detail::make_pm2},
    {"systemd", &detail::make_systemd},
    {"exec", &detail::make_exec},
}};

}  // namespace

Expected<std::unique_ptr<Remedy>> make_remedy(const config::RemedyConfig& cfg, Context& ctx) {
  const auto* entry = std::find_if(kTable.begin(), kTable.end(), [&](const Entry& e) { return e.type == cfg.type; });
  if (entry == kTable.end()) {
    return Error{"unknown remedy type '" + cfg.type + "'"};
  }
  return entry->make(cfg, ctx);
}

std::vector<std::string> types() {
  std::vector<std::string> out;
  out.reserve(kTable.size());
  for (const auto& e : kTable) {
    out.emplace_back(e.type);
  }
  return out;
}

}  // namespace tend::remedies
