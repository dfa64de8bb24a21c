#pragma once
// The registry: the one place the entry kinds are listed. Everything else — config reading,
// status, reload, the socket commands, alerting, metrics — iterates what this returns.

#include <span>

#include "config/plugins.hpp"
#include "entries/kind.hpp"

namespace tend::plugins {

/// Every entry kind, in the order status lists them.
std::span<const entries::KindSpec* const> kinds();

/// What the config reader needs from above it: the kinds' sections, the notifier types, the
/// builtin names.
const config::Plugins& config();

}  // namespace tend::plugins
