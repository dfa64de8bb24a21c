# -DTEND_SANITIZE=ON builds everything with ASan+UBSan; the test command runs the suite under it once.
if(TEND_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12's -Wmaybe-uninitialized misfires inside libstdc++ (std::function in <regex>, optional)
  # once the sanitizers instrument it; the plain build keeps the warning as an error.
  add_compile_options(-Wno-maybe-uninitialized)
endif()
