#pragma once
// libcurl, opened when the first transfer needs it (as systemd opens its optional libraries):
// tendd is not linked against it, so a daemon whose requests all go to the plain client (plain
// http probes, no alerts sent yet) never maps libcurl's dependency tree as Debian builds it
// (OpenSSL, gnutls, krb5, ldap, ssh2, rtmp: 7.8 MB resident). Every call into libcurl goes
// through the table here; the loading happens on a thread of its own, never on the loop.

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace tend::http::curl {

/// The soname the table is resolved from (Debian's libcurl4; the .deb depends on it).
inline constexpr const char* kLibrary = "libcurl.so.4";

/// The libcurl functions tend calls, as libcurl declares them.
struct Api {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_assign) multi_assign;
  decltype(&::curl_multi_socket_action) multi_socket_action;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_strerror) multi_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

/// The table once libcurl is loaded and initialised (curl_global_init), else nullptr.
/// Thread-safe; never blocks.
const Api* loaded();

/// Load libcurl on a thread of its own, then post `done` to `io` with "" or the reason it failed
/// (posted at once when the load is already over, or when no thread can be made). Returns a
/// ticket for cancel_load(), 0 when `done` is already posted.
std::uint64_t load_async(boost::asio::io_context& io, std::function<void(const std::string& error)> done);

/// `done` of `ticket` is not posted (its caller, and maybe `io`, are going away). Once this
/// returns, the loading thread no longer touches that io_context.
void cancel_load(std::uint64_t ticket);

}  // namespace tend::http::curl
