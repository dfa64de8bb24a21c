#include "util/listen.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace tend {

Expected<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view address) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error{"listen must be HOST:PORT (e.g. 127.0.0.1:9717 or [::1]:9717)"};
  }
  std::string_view host = address.substr(0, colon);
  const auto port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Error{"listen port must be 0-65535"};
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  if (h == "localhost") {
    h = "127.0.0.1";
  }
  boost::system::error_code aec;
  boost::asio::ip::make_address(h, aec);
  if (aec) {
    return Error{"listen host must be an IP address or localhost, not '" + std::string(host) + "'"};
  }
  return std::pair<std::string, std::uint16_t>(h, static_cast<std::uint16_t>(port));
}

}  // namespace tend
