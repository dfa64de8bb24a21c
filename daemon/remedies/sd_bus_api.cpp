#include "remedies/sd_bus_api.hpp"

namespace tend::remedies::sdbus {
namespace {

/// Resolve the table; "" or why not. On the loading thread, before ready().
std::string open_library(const LazyLibrary& lib, void* handle, Api& api) {
  std::string error;
  lib.resolve(handle, "sd_bus_open_system", api.open_system, error);
  lib.resolve(handle, "sd_bus_new", api.new_bus, error);
  lib.resolve(handle, "sd_bus_set_address", api.set_address, error);
  lib.resolve(handle, "sd_bus_set_bus_client", api.set_bus_client, error);
  lib.resolve(handle, "sd_bus_start", api.start, error);
  lib.resolve(handle, "sd_bus_set_description", api.set_description, error);
  lib.resolve(handle, "sd_bus_get_fd", api.get_fd, error);
  lib.resolve(handle, "sd_bus_get_events", api.get_events, error);
  lib.resolve(handle, "sd_bus_get_timeout", api.get_timeout, error);
  lib.resolve(handle, "sd_bus_is_open", api.is_open, error);
  lib.resolve(handle, "sd_bus_process", api.process, error);
  lib.resolve(handle, "sd_bus_unref", api.unref, error);
  lib.resolve(handle, "sd_bus_close_unref", api.close_unref, error);
  lib.resolve(handle, "sd_bus_slot_unref", api.slot_unref, error);
  lib.resolve(handle, "sd_bus_match_signal_async", api.match_signal_async, error);
  lib.resolve(handle, "sd_bus_call_method_async", api.call_method_async, error);
  lib.resolve(handle, "sd_bus_message_is_method_error", api.message_is_method_error, error);
  lib.resolve(handle, "sd_bus_message_get_error", api.message_get_error, error);
  lib.resolve(handle, "sd_bus_message_read", api.message_read, error);
  lib.resolve(handle, "sd_bus_error_has_name", api.error_has_name, error);
  return error;
}

}  // namespace

LazyApi<Api>& library() {
  static auto* lib = new LazyApi<Api>(kLibrary, &open_library);
  return *lib;
}

}  // namespace tend::remedies::sdbus
