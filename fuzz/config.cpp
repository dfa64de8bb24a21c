// The config file (and its includes): whole text -> load + validate, as `tendd --check` and
// reload do. Input: the main file, then included files each after a line `#%file`; they are
// /etc/tend/conf.d/1.yaml, 2.yaml, ... and every glob matches them. ${env:TOKEN}, ${env:HOME},
// ${file:/run/secret} and ${cred:NAME} resolve. Properties: no crash, no exception, no hang (merge
// bombs, deep nesting), and a config comes back exactly when there are no errors, each error with
// a message that shows no resolved secret.

#include <fnmatch.h>

#include <algorithm>
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
  // The load, with the secrets the sources resolve to spelled `word` ("s3cret" or "n0pe"): a
  // resolved secret shows up as that word, whatever the input is made of.
  auto load = [&files, main](const std::string& word) {
    files["/run/secret"] = word + "-from-file\n";
    files["/run/credentials/tend.service/token"] = word + "-credential";
    tend::config::Sources sources;
    sources.getenv = [word](const std::string& name) -> std::optional<std::string> {
      if (name == "TOKEN") {
        return word + "-from-env";
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
    return tend::config::load_text(main, kMain, sources, tend::plugins::config());
  };

  const auto result = load("s3cret");
  check(result.config.has_value() == result.errors.empty(), "a config comes back exactly when there are no errors",
        result.errors);
  auto shows = [](const std::vector<tend::config::ConfigError>& errors, std::string_view word) {
    return std::any_of(errors.begin(), errors.end(),
                       [word](const auto& e) { return e.to_string().find(word) != std::string::npos; });
  };
  for (const auto& e : result.errors) {
    check(!e.message.empty(), "every error has a message", result.errors);
  }
  // A resolved secret never reaches a message. The input may spell the word itself, plainly or
  // through YAML's escapes ("s\x33cret"): then the same load with other secrets shows it too.
  if (shows(result.errors, "s3cret")) {
    check(shows(load("n0pe").errors, "s3cret"), "no error shows a resolved secret", result.errors);
  }
  return 0;
}
