# -DTEND_SANITIZE=ON builds everything with ASan+UBSan; the test command runs the suite under it once.
if(TEND_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12 misfires under instrumentation: -Wmaybe-uninitialized inside libstdc++, and
  # -Wmismatched-new-delete on Asio's coroutine frames. The plain build keeps both as errors.
  add_compile_options(-Wno-maybe-uninitialized -Wno-mismatched-new-delete)
endif()
