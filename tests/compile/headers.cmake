# Every public header must compile on its own: a user may include any one of
# them first. One generated translation unit per header includes just that
# header (twice, so a missing include guard shows too); they form an OBJECT
# library in the default build, so a header that leans on something it does
# not include breaks the build with an error in a file named after it,
# e.g. `alone/sync/detail/sleep.hpp.cpp`. About 1 s per header.
# The sanitizer builds compile the same text, so once per platform is enough.
if(NOT LIBSYNC_SANITIZE)
  set(hdr_root ${PROJECT_SOURCE_DIR}/libsync/include)
  file(GLOB_RECURSE hdrs RELATIVE ${hdr_root} CONFIGURE_DEPENDS ${hdr_root}/sync/*.hpp)
  set(hdr_tus "")
  foreach(h IN LISTS hdrs)
    set(tu ${CMAKE_CURRENT_BINARY_DIR}/alone/${h}.cpp)
    # file(CONFIGURE) rewrites only on change, so a reconfigure rebuilds nothing.
    file(CONFIGURE OUTPUT ${tu} CONTENT "#include <${h}>\n#include <${h}>\n" @ONLY)
    list(APPEND hdr_tus ${tu})
  endforeach()
  add_library(public_headers_compile_alone OBJECT ${hdr_tus})
  target_include_directories(public_headers_compile_alone PRIVATE ${hdr_root} ${LIBSYNC_GENERATED_INCLUDE})
  target_compile_features(public_headers_compile_alone PRIVATE cxx_std_20)
endif()
