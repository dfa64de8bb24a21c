#pragma once
// `daemon.metrics.listen` ("127.0.0.1:9717", "[::1]:9717", "localhost:9717") read by one function:
// the config validator (`tendd --check`) and the daemon that binds it use the same code.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "util/expected.hpp"

namespace tend {

/// Host (an IP address; localhost becomes 127.0.0.1) and port (0-65535) of HOST:PORT. Host names
/// other than localhost are refused: resolving one would block the loop.
Expected<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view address);

}  // namespace tend
