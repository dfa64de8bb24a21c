#pragma once
// libcurl, opened when the first transfer needs it (as systemd opens its optional libraries):
// tendd is not linked against it, so a daemon whose requests all go to the plain client (plain
// http probes, no alerts sent yet) never maps libcurl's dependency tree as Debian builds it
// (OpenSSL, gnutls, krb5, ldap, ssh2, rtmp: 7.8 MB resident). Every call into libcurl goes
// through the table here; the loading happens on a thread of its own, never on the loop.

#include <curl/curl.h>

#include "util/lazy_library.hpp"

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

/// The library and its table, loaded by the first user that asks (load_async: on a thread of its
/// own, never on the loop). Never destroyed: a load may still run while the process exits.
LazyApi<Api>& library();

}  // namespace tend::http::curl
