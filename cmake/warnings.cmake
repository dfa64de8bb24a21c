# One place for the warning set (spdlog cmake/utils.cmake style): every target of ours gets it.
# Warnings are errors in the dev/CI build (scripts/dev sets TEND_WERROR=ON), never for packagers:
# a plain `cmake -DCMAKE_BUILD_TYPE=Release` must build with any supported compiler.
option(TEND_WERROR "Treat compiler warnings as errors (scripts/dev and CI)" OFF)

function(tend_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  if(TEND_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
