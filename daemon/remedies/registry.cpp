// The one table of remedy types, and the `remedy:` reader that goes through it. Adding a type =
// its file (defining its Variant) + one line here.

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/fields.hpp"
#include "config/loader.hpp"
#include "remedies/remedy.hpp"

namespace tend::remedies {

extern const Variant pm2_variant, systemd_variant, exec_variant;

namespace {

const Variant* const kVariants[] = {&pm2_variant, &systemd_variant, &exec_variant};

void read_restart(config::MapReader& s, RemedyConfig& r) {
  std::vector<std::string_view> types;
  for (const auto* v : variants()) {
    types.push_back(v->type);
    for (auto key : v->keys) {
      s.known({key});
    }
  }
  auto type = config::exactly_one(s, types);
  if (!type) {
    return;
  }
  const auto* it =
      std::find_if(std::begin(kVariants), std::end(kVariants), [&](const Variant* v) { return v->type == *type; });
  if (it == std::end(kVariants)) {
    return;  // exactly_one() only returns one of the types it was given
  }
  const Variant* variant = *it;
  r.type = std::string(*type);
  // Keys of the other variants are a mistake here, said plainly ("'user' applies only to pm2").
  for (const auto* other : variants()) {
    for (auto key : other->keys) {
      if (std::find(variant->keys.begin(), variant->keys.end(), key) != variant->keys.end()) {
        continue;
      }
      if (auto v = s.get(key)) {
        s.self().context().error(
            v->key_mark(), v->path(),
            "'" + std::string(key) + "' applies only to " + std::string(other->type) + " restarts");
      }
    }
  }
  r.restart = variant->read(s, *s.get(*type));
}

}  // namespace

std::span<const Variant* const> variants() { return kVariants; }

std::optional<RemedyConfig> read_remedy(config::MapReader& m) {
  RemedyConfig r;
  m.require("restart");
  m.section("restart", [&](config::MapReader& s) { read_restart(s, r); });
  m.read("settle", r.settle);
  m.read("max_restarts", r.max_restarts, 1, 1000);
  m.read("window", r.window);
  m.read("cooldown", r.cooldown, config::kAnyDuration);
  m.read("notify", r.notify, {{"all", Notify::all}, {"failures", Notify::failures}});
  if (!r.restart) {
    return std::nullopt;
  }
  return r;
}

Expected<RemedyConfig> parse_restart(std::string_view yaml) {
  config::Sources none;
  config::Context ctx(none);
  ctx.begin_file("restart", 0);
  YAML::Node node;
  try {
    node = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error{std::string("restart: ") + e.what()};
  }
  config::Value value(ctx, node, "restart", node.Mark());
  RemedyConfig r;
  {
    config::MapReader s(value);
    if (s.valid()) {
      read_restart(s, r);
      s.finish();
    }
  }
  auto errors = ctx.take_errors();
  if (!errors.empty() || !r.restart) {
    std::string text;
    for (const auto& e : errors) {
      text += (text.empty() ? "" : "\n") + e.key_path + ": " + e.message;
    }
    return Error{text.empty() ? "restart: invalid" : text};
  }
  return r;
}

std::unique_ptr<Remedy> make_remedy(const RemedyConfig& cfg, Context& ctx) {
  for (const auto* v : variants()) {
    if (v->type == cfg.type && cfg.restart) {
      return v->make(*cfg.restart, ctx);
    }
  }
  return nullptr;  // unreachable for a config the reader produced
}

}  // namespace tend::remedies
