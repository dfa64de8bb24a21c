#pragma once
// Internal: Boost.Process v2 as this module uses it (Boost 1.81, header-only). It runs on
// std::filesystem (BOOST_PROCESS_USE_STD_FS, set for this module in CMakeLists.txt), so no
// Boost.Filesystem library is needed; in that mode 1.81's headers use boost::optional, boost::decay,
// boost::is_convertible and boost::exchange without including them, hence the includes first.

#ifndef BOOST_PROCESS_USE_STD_FS
#error "tend_process builds Boost.Process v2 on std::filesystem: define BOOST_PROCESS_USE_STD_FS"
#endif

// clang-format off
#include <boost/core/exchange.hpp>
#include <boost/optional.hpp>
#include <boost/type_traits/decay.hpp>
#include <boost/type_traits/is_convertible.hpp>
// clang-format on

#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/process_handle.hpp>
#include <boost/process/v2/stdio.hpp>

namespace tend::process::detail {
namespace bp = boost::process::v2;
}  // namespace tend::process::detail
