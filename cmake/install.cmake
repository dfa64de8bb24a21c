# Install layout, for `cmake --install` and for the Debian package (debian/rules installs with these
# rules into debian/tend/). Included last from the top CMakeLists.txt, so that targets defined in
# subdirectories (tend_man) are known here.
#
#   PREFIX/bin/tendd, PREFIX/bin/tend
#   SYSCONFDIR/tend/tend.yaml (mode 0640; an existing one is kept), SYSCONFDIR/tend/conf.d/
#   UNITDIR/tend.service (paths in it rewritten for the prefix), SYSUSERSDIR/tend.conf (groups)
#   DOCDIR/ (README, docs/*.md, examples/), MANDIR/man{1,5,8}/, bash completion
#
# Choose the prefix when configuring (-DCMAKE_INSTALL_PREFIX=...): the unit and the /etc paths are
# worked out from it then. SYSCONFDIR is /etc for the /usr prefix (GNUInstallDirs' special case),
# PREFIX/etc otherwise.
include(GNUInstallDirs)

set(TEND_SYSTEMD_UNITDIR "" CACHE PATH
    "Where tend.service goes (default: systemd.pc's systemdsystemunitdir for the /usr prefix, else PREFIX/lib/systemd/system)")
set(TEND_SYSUSERSDIR "" CACHE PATH
    "Where the sysusers.d file that creates the groups goes (default: systemd.pc's sysusersdir for /usr, else PREFIX/lib/sysusers.d)")
set(TEND_BASH_COMPLETIONSDIR "" CACHE PATH
    "Where the bash completion goes (default: bash-completion.pc's completionsdir for /usr, else DATADIR/bash-completion/completions)")

# systemd also reads PREFIX/lib/systemd/system and PREFIX/lib/sysusers.d for PREFIX=/usr/local; for
# /usr ask the system where its own files live (/lib/systemd/system on Debian 12).
function(tend_install_dir out cache_value pc_module pc_variable fallback)
  if(cache_value)
    set(${out} "${cache_value}" PARENT_SCOPE)
    return()
  endif()
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    pkg_get_variable(from_pc ${pc_module} ${pc_variable})
    if(from_pc)
      set(${out} "${from_pc}" PARENT_SCOPE)
      return()
    endif()
  endif()
  set(${out} "${fallback}" PARENT_SCOPE)
endfunction()

tend_install_dir(tend_unitdir "${TEND_SYSTEMD_UNITDIR}" systemd systemdsystemunitdir
                 "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
tend_install_dir(tend_sysusersdir "${TEND_SYSUSERSDIR}" systemd sysusersdir "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d")
tend_install_dir(tend_completionsdir "${TEND_BASH_COMPLETIONSDIR}" bash-completion completionsdir
                 "${CMAKE_INSTALL_FULL_DATADIR}/bash-completion/completions")
set(tend_confdir "${CMAKE_INSTALL_FULL_SYSCONFDIR}/tend")

# Binaries.
install(TARGETS tendd tend RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names /usr/bin/tendd and /etc/tend/tend.yaml, as it is installed by the package; any
# other prefix gets its own paths. One source file, systemd/tend.service, rewritten here.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/systemd/tend.service)
file(READ ${PROJECT_SOURCE_DIR}/systemd/tend.service tend_unit)
string(REPLACE "/usr/bin/tendd" "${CMAKE_INSTALL_FULL_BINDIR}/tendd" tend_unit "${tend_unit}")
string(REPLACE "/etc/tend/" "${tend_confdir}/" tend_unit "${tend_unit}")
string(REPLACE "/usr/share/doc/tend/" "${CMAKE_INSTALL_FULL_DOCDIR}/" tend_unit "${tend_unit}")
set(tend_unit_out ${PROJECT_BINARY_DIR}/install/tend.service)
set(tend_unit_old "")
if(EXISTS ${tend_unit_out})
  file(READ ${tend_unit_out} tend_unit_old)
endif()
if(NOT tend_unit_old STREQUAL tend_unit)  # written only when it changed: no needless reinstall
  file(WRITE ${tend_unit_out} "${tend_unit}")
endif()
install(FILES ${tend_unit_out} DESTINATION ${tend_unitdir})

# The groups: tend (may read the status socket) and tend-admin (may also run, pause, reload),
# created by systemd-sysusers (the package's postinst runs it; `systemd-sysusers` by hand otherwise).
install(FILES ${PROJECT_SOURCE_DIR}/systemd/tend.sysusers DESTINATION ${tend_sysusersdir} RENAME tend.conf)

# The starting configuration. An existing one is an administrator's: never overwritten (the package
# has dpkg's conffile handling for that instead).
install(DIRECTORY DESTINATION ${tend_confdir}/conf.d)
install(CODE "
  set(dest \"\$ENV{DESTDIR}${tend_confdir}/tend.yaml\")
  if(EXISTS \"\${dest}\")
    message(STATUS \"Keeping: \${dest} (the new one is ${PROJECT_SOURCE_DIR}/config/etc/tend.yaml)\")
  else()
    file(INSTALL DESTINATION \"${tend_confdir}\" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
         FILES \"${PROJECT_SOURCE_DIR}/config/etc/tend.yaml\")
  endif()")

# Documentation and the examples (/usr/share/doc/tend).
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB tend_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${tend_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        FILES_MATCHING PATTERN "*.yaml" PATTERN "*.md")

# Man pages, generated at build time by the target tend_man (daemon/cli) when it exists; built with
# `all` so that installing finds them.
if(TARGET tend_man)
  add_custom_target(tend_man_for_install ALL)
  add_dependencies(tend_man_for_install tend_man)
  install(FILES ${PROJECT_BINARY_DIR}/man/tend.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PROJECT_BINARY_DIR}/man/tend.yaml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
  install(FILES ${PROJECT_BINARY_DIR}/man/tendd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()

# Bash completion (commands, flags, entry names), generated at build time by tend_completion.
if(TARGET tend_completion)
  install(FILES ${PROJECT_BINARY_DIR}/completion/tend DESTINATION ${tend_completionsdir})
endif()
