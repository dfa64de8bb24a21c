// The config file (and its includes): whole text -> load + validate, as `tendd --check` and
// reload do. Input: the main file, then included files each after a line `#%file`; they are
// /etc/tend/conf.d/1.yaml, 2.yaml, ... and every glob matches them. ${env:TOKEN}, ${env:HOME},
// ${file:/run/secret} and ${cred:NAME} resolve. Properties: no crash, no exception, no hang (merge
// bombs, deep nesting), and a config comes back exactly when there are no errors, each error with
// a message that shows no resolved secret.

#include <fnmatch.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"
#include "plugins/plugins.hpp"

namespace {

constexpr std::string_view kSeparator = "\n#%file\n";
constexpr const char* kMain = "/etc/tend/tend.yaml";

// A property that does not hold: say which (and the errors), then crash for libFuzzer.
void check(bool ok, const char* what, const std::vector<tend::config::ConfigError>& errors) {
  if (!ok) {
    std::fprintf(stderr, "property failed: %s\n", what);
    for (const auto& e : errors) {
      std::fprintf(stderr, "  error: %s\n", e.to_string().c_str());
    }
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view main = in;
  std::map<std::string, std::string> files;
  if (const auto sep = in.find(kSeparator); sep != std::string_view::npos) {
    main = in.substr(0, sep);
    std::string_view rest = in.substr(sep + kSeparator.size());
    for (int n = 1; n <= 8; ++n) {
      const auto next = rest.find(kSeparator);
      files["/etc/tend/conf.d/" + std::to_string(n) + ".yaml"] = std::string(rest.substr(0, next));
      if (next == std::string_view::npos) {
        break;
      }
      rest = rest.substr(next + kSeparator.size());
    }
  }
  files["/run/secret"] = "s3cret-from-file\n";
  files["/run/credentials/tend.service/token"] = "s3cret-credential";

  tend::config::Sources sources;
  sources.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "TOKEN") {
      return "s3cret-from-env";
    }
    if (name == "HOME") {
      return "/root";
    }
    return std::nullopt;
  };
  sources.read_file = [&files](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional(it->second);
  };
  sources.glob = [&files](const std::string& pattern) {
    std::vector<std::string> out;
    for (const auto& [path, text] : files) {
      if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) {
        out.push_back(path);
      }
    }
    return out;
  };
  sources.credentials_dir = "/run/credentials/tend.service";
  sources.hostname = "fuzz-host";

  const auto result = tend::config::load_text(main, kMain, sources, tend::plugins::config());
  check(result.config.has_value() == result.errors.empty(), "a config comes back exactly when there are no errors",
        result.errors);
  // A resolved secret never reaches a message (unless the input wrote it out itself).
  const bool secret_in_input = in.find("s3cret") != std::string_view::npos;
  for (const auto& e : result.errors) {
    check(!e.message.empty(), "every error has a message", result.errors);
    check(secret_in_input || e.to_string().find("s3cret") == std::string::npos, "no error shows a resolved secret",
          result.errors);
  }
  return 0;
}
