# -DTEND_SANITIZE=ON builds everything with ASan+UBSan; the test command runs the suite under it once.
if(TEND_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12 misfires under instrumentation: -Wmaybe-uninitialized inside libstdc++, and
  # -Wmismatched-new-delete on Asio's coroutine frames. The plain build keeps both as errors.
  add_compile_options(-Wno-maybe-uninitialized -Wno-mismatched-new-delete)
endif()

# -DTEND_TSAN=ON builds everything with ThreadSanitizer; the test command runs the unit tier under
# it (the store's worker, the outbox, the logger, the spawner and the cluster threads against the
# loop). Not with TEND_SANITIZE: the two runtimes exclude each other.
option(TEND_TSAN "Build with ThreadSanitizer" OFF)
if(TEND_TSAN)
  if(TEND_SANITIZE)
    message(FATAL_ERROR "TEND_TSAN and TEND_SANITIZE exclude each other")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_options(-Wno-maybe-uninitialized -Wno-mismatched-new-delete -Wno-tsan)
endif()

# -DTEND_FUZZ=ON (clang only) builds the libFuzzer targets in fuzz/. The product code is compiled
# with the fuzzer's coverage instrumentation and ASan+UBSan, so the fuzzers steer by it and any
# overflow, leak or undefined behaviour in it is a crash.
option(TEND_FUZZ "Build the libFuzzer targets in fuzz/ with ASan+UBSan (clang only)" OFF)
if(TEND_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TEND_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  # libFuzzer's usual trade: -O1 and line tables build twice as fast as -O2 -g under ASan, and
  # still give symbolized stacks. Asserts stay on.
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only")
  add_link_options(-fsanitize=address,undefined)
endif()
