#pragma once
// Internal: what the remedy files share — output clean-up, how a command ended in words, and
// handing an Outcome to `done` on the loop.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "process/launcher.hpp"
#include "remedies/remedy.hpp"

namespace tend::remedies::detail {

/// How much command output an Outcome keeps (the tail).
inline constexpr std::size_t kOutputLimit = std::size_t{64} * 1024;

/// `text` without ANSI escape sequences (pm2 colours its output even into a pipe).
std::string strip_ansi(std::string_view text);

/// The last `limit` bytes of `text`, cut at a line start when one is near, marked when cut.
std::string tail(std::string_view text, std::size_t limit = kOutputLimit);

/// How a command ended, for a detail line: "exit 3", "timeout after 1m", "killed by SIGKILL",
/// or the spawn error ("exec pm2: No such file or directory").
std::string ending(const process::Result& result, std::chrono::milliseconds timeout);

/// Milliseconds since `start` on the steady clock.
std::chrono::milliseconds since(std::chrono::steady_clock::time_point start);

}  // namespace tend::remedies::detail

namespace tend::remedies::detail {

/// Run `done(outcome)` on the loop, later (pass it through the remedy's Lifetime::guard so it does
/// nothing once the remedy is gone).
void post_outcome(boost::asio::io_context& io, Done done, Outcome outcome);

}  // namespace tend::remedies::detail
