#pragma once
// libsystemd's sd-bus, opened when the first systemd remedy runs (util/lazy_library): tendd is not
// linked against libsystemd, so a daemon without systemd remedies never maps it nor what Debian's
// libsystemd0 pulls in (liblzma, libzstd, liblz4, libgcrypt, libcap: 124 kB of relocated data and
// about 2 MB resident). Every sd-bus call of remedies/system_bus goes through the table here.

#include <systemd/sd-bus.h>

#include "util/lazy_library.hpp"

namespace tend::remedies::sdbus {

/// The soname the table is resolved from (Debian's libsystemd0; the .deb depends on it).
inline constexpr const char* kLibrary = "libsystemd.so.0";

/// The sd-bus functions tend calls, as libsystemd declares them.
struct Api {
  decltype(&::sd_bus_open_system) open_system;
  decltype(&::sd_bus_new) new_bus;
  decltype(&::sd_bus_set_address) set_address;
  decltype(&::sd_bus_set_bus_client) set_bus_client;
  decltype(&::sd_bus_start) start;
  decltype(&::sd_bus_set_description) set_description;
  decltype(&::sd_bus_get_fd) get_fd;
  decltype(&::sd_bus_get_events) get_events;
  decltype(&::sd_bus_get_timeout) get_timeout;
  decltype(&::sd_bus_is_open) is_open;
  decltype(&::sd_bus_process) process;
  decltype(&::sd_bus_unref) unref;
  decltype(&::sd_bus_close_unref) close_unref;
  decltype(&::sd_bus_slot_unref) slot_unref;
  decltype(&::sd_bus_match_signal_async) match_signal_async;
  decltype(&::sd_bus_call_method_async) call_method_async;
  decltype(&::sd_bus_message_is_method_error) message_is_method_error;
  decltype(&::sd_bus_message_get_error) message_get_error;
  decltype(&::sd_bus_message_read) message_read;
  decltype(&::sd_bus_error_has_name) error_has_name;
};

/// The library and its table, loaded by the first user that asks (load_async: on a thread of its
/// own, never on the loop). Never destroyed: a load may still run while the process exits.
LazyApi<Api>& library();

}  // namespace tend::remedies::sdbus
