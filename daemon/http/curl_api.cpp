#include "http/curl_api.hpp"

namespace tend::http::curl {
namespace {

/// Resolve the table and curl_global_init; "" or why not. On the loading thread, before ready().
std::string open_library(const LazyLibrary& lib, void* handle, Api& api) {
  std::string error;
  lib.resolve(handle, "curl_global_init", api.global_init, error);
  lib.resolve(handle, "curl_easy_init", api.easy_init, error);
  lib.resolve(handle, "curl_easy_reset", api.easy_reset, error);
  lib.resolve(handle, "curl_easy_cleanup", api.easy_cleanup, error);
  lib.resolve(handle, "curl_easy_setopt", api.easy_setopt, error);
  lib.resolve(handle, "curl_easy_getinfo", api.easy_getinfo, error);
  lib.resolve(handle, "curl_easy_strerror", api.easy_strerror, error);
  lib.resolve(handle, "curl_multi_init", api.multi_init, error);
  lib.resolve(handle, "curl_multi_cleanup", api.multi_cleanup, error);
  lib.resolve(handle, "curl_multi_setopt", api.multi_setopt, error);
  lib.resolve(handle, "curl_multi_add_handle", api.multi_add_handle, error);
  lib.resolve(handle, "curl_multi_remove_handle", api.multi_remove_handle, error);
  lib.resolve(handle, "curl_multi_assign", api.multi_assign, error);
  lib.resolve(handle, "curl_multi_socket_action", api.multi_socket_action, error);
  lib.resolve(handle, "curl_multi_info_read", api.multi_info_read, error);
  lib.resolve(handle, "curl_multi_strerror", api.multi_strerror, error);
  lib.resolve(handle, "curl_slist_append", api.slist_append, error);
  lib.resolve(handle, "curl_slist_free_all", api.slist_free_all, error);
  if (!error.empty()) {
    return error;
  }
  // Once per process and never undone (other threads may still use curl during static
  // destruction). Since 7.84 it is thread-safe; nothing else here uses curl or its TLS library.
  if (const CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return std::string("curl_global_init failed: ") + api.easy_strerror(rc);
  }
  return {};
}

}  // namespace

LazyApi<Api>& library() {
  static auto* lib = new LazyApi<Api>(kLibrary, &open_library);
  return *lib;
}

}  // namespace tend::http::curl
