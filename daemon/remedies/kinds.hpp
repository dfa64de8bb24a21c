#pragma once
// Internal: one factory per remedy file, listed in registry.cpp's table.

#include <memory>

#include "remedies/remedy.hpp"

namespace tend::remedies::detail {

/// `restart: {pm2: NAME, user: U}`: pm2 jlist / pm2 restart / pm2 jlist as U (pm2.cpp).
Expected<std::unique_ptr<Remedy>> make_pm2(const config::RemedyConfig& cfg, Context& ctx);

/// `restart: {systemd: UNIT}`: RestartUnit over the system bus, JobRemoved awaited (systemd.cpp).
Expected<std::unique_ptr<Remedy>> make_systemd(const config::RemedyConfig& cfg, Context& ctx);

/// `restart: {exec: [argv]}`: the command, no shell; exit 0 is success (exec.cpp).
Expected<std::unique_ptr<Remedy>> make_exec(const config::RemedyConfig& cfg, Context& ctx);

}  // namespace tend::remedies::detail
