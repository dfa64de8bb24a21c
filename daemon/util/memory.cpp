#include "util/memory.hpp"

#include <malloc.h>

namespace tend {

void release_freed_memory() { ::malloc_trim(0); }

}  // namespace tend
