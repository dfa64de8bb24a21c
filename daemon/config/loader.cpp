#include "config/loader.hpp"

#include <date/tz.h>
#include <glob.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/plugins.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"

namespace tend::config {

std::string ConfigError::to_string() const {
  std::string out = pos.file;
  if (pos.line > 0) {
    out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  }
  out += ": ";
  if (!key_path.empty()) {
    out += key_path + ": ";
  }
  return out + message;
}

namespace {

// Config and secret files are small; a bound keeps `${file:/dev/zero}` from eating memory forever.
constexpr std::size_t kMaxFileBytes = 4 << 20;

std::optional<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string content;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    content.append(buf, static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxFileBytes) {
      return std::nullopt;
    }
  }
  // A directory opens fine but fails to read: that is not an empty file.
  if (in.bad()) {
    return std::nullopt;
  }
  return content;
}

std::vector<std::string> glob_files(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> out;
  // GLOB_MARK appends '/' to directories so `conf.d/*` skips subdirectories.
  if (::glob(pattern.c_str(), GLOB_MARK, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      std::string path = g.gl_pathv[i];
      if (!path.empty() && path.back() != '/') {
        out.push_back(std::move(path));
      }
    }
  }
  ::globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

bool has_glob_chars(std::string_view pattern) { return pattern.find_first_of("*?[") != std::string_view::npos; }

std::string directory_of(const std::string& file) {
  const auto slash = file.rfind('/');
  return slash == std::string::npos ? std::string() : file.substr(0, slash + 1);
}

std::string position_text(const Position& p) {
  return p.file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

// Deeper than any config needs (probes.NAME.remedy.restart.exec[0] is 6) and far from the stack's limit.
constexpr int kMaxDepth = 64;

// An event-level pass before yaml-cpp builds nodes, for two weaknesses of yaml-cpp 0.7: LoadAll
// loops forever, allocating, when a document does not consume its first token (a stray ',':
// jbeder/yaml-cpp#1040), so documents are counted here; and its recursive parser only stops at 500
// levels, so nesting is bounded here, by throwing out of the parser as it descends.
class Prescan final : public YAML::EventHandler {
 public:
  struct TooDeep {
    YAML::Mark mark;
  };
  std::vector<YAML::Mark> document_starts;

  void OnDocumentStart(const YAML::Mark& mark) override { document_starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void enter(const YAML::Mark& mark) {
    if (++depth_ > kMaxDepth) {
      throw TooDeep{mark};
    }
  }
  int depth_ = 0;
};

// The sections only the main file may hold; included files add entries to it.
constexpr std::string_view kMainOnly[] = {"daemon", "alerts", "cluster"};

class Loader {
 public:
  Loader(const Sources& sources, const Plugins& plugins) : sources_(sources), plugins_(plugins), ctx_(sources) {}

  LoadResult run(std::string_view text, const std::string& file) {
    LoadResult result;
    try {
      load(text, file);
    } catch (const std::exception& e) {
      // Nothing above throws on purpose; this keeps a bug (or bad_alloc) from taking the daemon down
      // on a reload.
      ctx_.error_at(Position{file, 0, 0}, 0, "", std::string("internal error while loading: ") + e.what());
    }
    result.errors = ctx_.take_errors();
    if (result.errors.empty()) {
      c_.config.origins = ctx_.take_origins();
      result.config = std::move(c_.config);
    }
    return result;
  }

 private:
  struct Included {
    std::string file;
    std::string text;
  };

  // The document, or nullopt with the error recorded. An empty file is an empty mapping.
  std::optional<YAML::Node> parse(std::string_view text) {
    if (text.size() > kMaxFileBytes) {
      ctx_.error(YAML::Mark::null_mark(), "", "the file is too large (more than 4 MiB)");
      return std::nullopt;
    }
    try {
      if (!prescan(text)) {
        return std::nullopt;
      }
      return YAML::Load(std::string(text));
    } catch (const Prescan::TooDeep& e) {
      ctx_.error(e.mark, "", "the document is nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
    } catch (const YAML::DeepRecursion& e) {
      ctx_.error(e.mark, "", "the document is nested too deeply");
    } catch (const YAML::Exception& e) {
      ctx_.error(e.mark, "", e.msg);
    }
    return std::nullopt;
  }

  // False (with the error recorded) when `text` holds more than one document or the parser stops
  // making progress. Throws Prescan::TooDeep or a yaml-cpp exception.
  bool prescan(std::string_view text) {
    Prescan handler;
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    const auto& starts = handler.document_starts;
    while (starts.size() < 3 && parser.HandleNextDocument(handler)) {
      if (starts.size() >= 2 && starts[starts.size() - 1].pos == starts[starts.size() - 2].pos) {
        const auto pos = static_cast<std::size_t>(starts.back().pos);
        const char c = pos < text.size() ? text[pos] : ' ';
        ctx_.error(starts.back(), "",
                   std::isprint(static_cast<unsigned char>(c)) != 0 ? std::string("unexpected '") + c + "'"
                                                                    : std::string("unexpected character"));
        return false;
      }
    }
    if (starts.size() > 1) {
      ctx_.error(starts[1], "", "only one YAML document (---) is allowed per file");
      return false;
    }
    return true;
  }

  // The top-level mapping of a file, or nullopt with the error recorded.
  std::optional<Value> top_level(const YAML::Node& node) {
    if (!node.IsMap() && !node.IsNull()) {
      ctx_.error(node.Mark(), "", "the top level must be a mapping (daemon:, jobs:, probes:, ...)");
      return std::nullopt;
    }
    return Value(ctx_, node, "", node.Mark());
  }

  void load(std::string_view text, const std::string& file) {
    main_file_ = file;
    c_.config.path = file;
    DaemonConfig& daemon = c_.config.daemon;
    daemon.host = sources_.hostname;
    daemon.timezone = schedule::system_zone();
    daemon.timezone_name = schedule::zone_name(daemon.timezone);

    ctx_.begin_file(file, 0);
    auto node = parse(text);
    auto top = node ? top_level(*node) : std::nullopt;
    if (!top) {
      return;
    }
    MapReader root(*top);
    root.section("daemon", [&](MapReader& m) { detail::read_daemon(m, daemon); });
    resolve_relative(daemon.state_dir);
    resolve_relative(daemon.socket);
    root.section("cluster", [&](MapReader& m) { detail::read_cluster(m, daemon, c_.config.cluster); });
    std::vector<Included> includes = read_includes(root);
    root.section("alerts", [&](MapReader& m) { detail::read_alerts(m, c_); });
    detail::read_entry_sections(root, c_, plugins_);
    root.finish();

    for (std::size_t i = 0; i < includes.size(); ++i) {
      ctx_.begin_file(includes[i].file, static_cast<int>(i + 1));
      load_included(includes[i].text);
    }
    ctx_.begin_file(file, 0);
    check_names(c_.entry_names);
    check_names(c_.notifier_names);
    order_entries();
    check_notifier_refs();
    check_default_route();
  }

  // Relative daemon paths are relative to the main file's folder (like nginx's prefix), so a
  // checkout's example config runs from any working directory.
  void resolve_relative(std::string& path) const {
    namespace fs = std::filesystem;
    if (path.empty() || fs::path(path).is_absolute()) {
      return;
    }
    std::error_code ec;
    auto base = fs::absolute(fs::path(main_file_), ec).parent_path();
    path = (base / path).lexically_normal().string();
  }

  // Resolve `include:` patterns to files and read them; problems are reported at the pattern.
  std::vector<Included> read_includes(MapReader& root) {
    std::vector<Included> out;
    auto v = root.get("include");
    if (!v) {
      return out;
    }
    // A single pattern is as clear as a one-element list.
    std::vector<Value> items;
    if (v->node().IsScalar()) {
      items.push_back(*v);
    } else if (auto list = v->items()) {
      items = std::move(*list);
    }
    std::set<std::string> seen = {main_file_};
    for (const auto& item : items) {
      auto pattern = item.string();
      if (!pattern) {
        continue;
      }
      c_.config.include.push_back(*pattern);
      const std::string full = pattern->starts_with('/') ? *pattern : directory_of(main_file_) + *pattern;
      const bool literal = !has_glob_chars(full);
      // A glob that matches nothing is an empty conf.d; a literal path must exist.
      const std::vector<std::string> matches = literal         ? std::vector<std::string>{full}
                                               : sources_.glob ? sources_.glob(full)
                                                               : std::vector<std::string>{};
      for (const auto& match : matches) {
        if (!seen.insert(match).second) {
          continue;
        }
        auto content = sources_.read_file ? sources_.read_file(match) : std::nullopt;
        if (!content) {
          item.error("cannot read included file '" + match + "'" + (literal ? " (does it exist?)" : ""));
          continue;
        }
        out.push_back(Included{match, std::move(*content)});
      }
    }
    return out;
  }

  void load_included(std::string_view text) {
    auto node = parse(text);
    auto top = node ? top_level(*node) : std::nullopt;
    if (!top) {
      return;
    }
    MapReader root(*top);
    for (auto key : kMainOnly) {
      if (auto v = root.get(key)) {
        ctx_.error(v->key_mark(), std::string(key),
                   "'" + std::string(key) +
                       "' is only allowed in the main config file (included files may contain notifiers, jobs, "
                       "probes, watches, checks)");
      }
    }
    if (auto v = root.get("include")) {
      ctx_.error(v->key_mark(), "include", "includes do not nest: 'include' is only allowed in the main config file");
    }
    detail::read_entry_sections(root, c_, plugins_);
    root.finish();
  }

  // Entries by kind in registration order (then file order): status and reload read them so.
  void order_entries() {
    auto rank = [this](std::string_view kind) {
      for (std::size_t i = 0; i < plugins_.sections.size(); ++i) {
        if (plugins_.sections[i].kind == kind) {
          return i;
        }
      }
      return plugins_.sections.size();
    };
    std::stable_sort(c_.config.entries.begin(), c_.config.entries.end(),
                     [&](const EntryConfig& a, const EntryConfig& b) { return rank(a.kind) < rank(b.kind); });
  }

  // Names are unique in their namespace; the later definition (in file order) is the error.
  void check_names(std::vector<detail::NameDef>& names) {
    std::stable_sort(names.begin(), names.end(), [](const auto& a, const auto& b) {
      return std::tie(a.file_index, a.pos.line, a.pos.column) < std::tie(b.file_index, b.pos.line, b.pos.column);
    });
    std::map<std::string, const detail::NameDef*> first;
    for (const auto& def : names) {
      auto [it, inserted] = first.emplace(def.name, &def);
      if (!inserted) {
        ctx_.error_at(
            def.pos, def.file_index, def.path,
            "name '" + def.name + "' is already used by " + it->second->path + " at " + position_text(it->second->pos));
      }
    }
  }

  void check_notifier_refs() {
    std::vector<std::string> known;
    for (const auto& n : c_.notifier_names) {
      known.push_back(n.name);
    }
    for (const auto& ref : c_.notifier_refs) {
      if (std::find(known.begin(), known.end(), ref.name) != known.end()) {
        continue;
      }
      std::string message = "unknown notifier '" + ref.name + "'";
      if (auto near = suggest(ref.name, known)) {
        message += " (did you mean '" + *near + "'?)";
      }
      ctx_.error_at(ref.pos, ref.file_index, ref.path, std::move(message));
    }
  }

  // With notifiers there must be a route that catches everything, or some alerts would reach nobody.
  // (Non-empty routes are checked where they are read: the last one must be the default.)
  void check_default_route() {
    if (!c_.config.alerts.routes.empty() || c_.config.notifiers.empty()) {
      return;
    }
    const detail::Where at = c_.alerts_at      ? *c_.alerts_at
                             : c_.notifiers_at ? *c_.notifiers_at
                                               : detail::Where{Position{main_file_, 0, 0}, 0};
    ctx_.error_at(at.pos, at.file_index, "alerts.routes",
                  "a default route (no match) is required: add `alerts: {routes: [{notify: [...]}]}`");
  }

  const Sources& sources_;
  const Plugins& plugins_;
  Context ctx_;
  detail::Collected c_;
  std::string main_file_;
};

}  // namespace

Sources Sources::system() {
  Sources s;
  s.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* value = ::getenv(name.c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  };
  s.read_file = read_whole_file;
  s.glob = glob_files;
  if (const char* dir = ::getenv("CREDENTIALS_DIRECTORY"); dir != nullptr) {
    s.credentials_dir = dir;
  }
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) == 0) {
    s.hostname = host;
  }
  return s;
}

LoadResult load_file(const std::string& path, const Sources& sources, const Plugins& plugins) {
  auto text = sources.read_file ? sources.read_file(path) : std::nullopt;
  if (!text) {
    LoadResult result;
    result.errors.push_back(ConfigError{Position{path, 0, 0}, "", "cannot read the config file"});
    return result;
  }
  return load_text(*text, path, sources, plugins);
}

LoadResult load_text(std::string_view yaml, const std::string& file_name, const Sources& sources,
                     const Plugins& plugins) {
  return Loader(sources, plugins).run(yaml, file_name);
}

}  // namespace tend::config
