#pragma once
// The daemon's own resources, read from /proc/self (in-memory files: no disk wait on the loop).

#include <cstdint>
#include <optional>

#include "metrics/exposition.hpp"

namespace tend::metrics {

struct ProcessStats {
  std::optional<std::uint64_t> open_fds;        // entries of /proc/self/fd
  std::optional<std::uint64_t> max_fds;         // RLIMIT_NOFILE soft limit
  std::optional<std::uint64_t> resident_bytes;  // /proc/self/statm resident pages × page size
  std::optional<std::uint64_t> virtual_bytes;   // /proc/self/statm size × page size
  std::optional<double> cpu_seconds;            // user + system time
  std::optional<double> start_time_seconds;     // Unix time the process started
};

/// Read the current figures; a figure that cannot be read stays empty (and is not written).
ProcessStats read_process_stats();

/// Write tend_process_open_fds, _max_fds, _resident_memory_bytes, _virtual_memory_bytes,
/// _cpu_seconds_total and _start_time_seconds (each family only when its figure is known).
void write_process_metrics(Writer& w, const ProcessStats& stats);

}  // namespace tend::metrics
