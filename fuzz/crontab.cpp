// `tend import-crontab` input (a crontab, system or user, written by anyone): the converter, and
// its promise that what it writes passes `tendd --check`. Input: the crontab text; users root,
// www-data and backup exist (format detection). Properties: no crash, the YAML it writes loads
// without errors, with as many jobs as it says.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "crontab/convert.hpp"
#include "plugins/plugins.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tend::crontab::Options options;
  options.source = "/etc/crontab";
  options.is_user = [](std::string_view name) { return name == "root" || name == "www-data" || name == "backup"; };
  const auto result = tend::crontab::convert(text, options);

  tend::config::Sources sources;  // the converted file must stand on its own: nothing resolves
  sources.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  sources.read_file = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  sources.glob = [](const std::string&) { return std::vector<std::string>{}; };
  sources.hostname = "fuzz-host";
  const auto loaded = tend::config::load_text(result.yaml, "/etc/tend/tend.yaml", sources, tend::plugins::config());
  if (!loaded.config) {
    for (const auto& e : loaded.errors) {
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    }
    std::fprintf(stderr, "--- written:\n%s---\n", result.yaml.c_str());
    std::abort();
  }
  if (static_cast<std::size_t>(result.jobs) != loaded.config->entries.size()) {
    std::fprintf(stderr, "wrote %d jobs, loaded %zu\n%s", result.jobs, loaded.config->entries.size(),
                 result.yaml.c_str());
    std::abort();
  }
  return 0;
}
