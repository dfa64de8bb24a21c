#pragma once
// Internal: looking at a process group from the outside.

#include <sys/types.h>

namespace tend::process::detail {

/// True when a process of group `pgid` is still running, not merely a zombie waiting for its new
/// parent (often init, which in containers may reap late) to collect it. Reads /proc; never throws.
bool group_has_live_member(pid_t pgid);

}  // namespace tend::process::detail
