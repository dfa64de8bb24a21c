#pragma once
// Giving freed heap back to the system.

namespace tend {

/// Return the freed pages inside the heap to the kernel (malloc_trim). glibc gives back only the
/// top of the heap by itself: what a burst freed in the middle (the config's YAML trees at start
/// or on reload, SQLite's parse of the hourly prune, the first round of probes) stays resident
/// otherwise, 100 to 200 kB at 100 probes (issue 14). Costs a walk of malloc's free lists: call it
/// after a burst, not on a hot path.
void release_freed_memory();

}  // namespace tend
