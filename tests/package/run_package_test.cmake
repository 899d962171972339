# The four ways an outside project uses an installed libsync, each building
# and running the README's example (extracted by tests/CMakeLists.txt) and a
# small check program:
#
#   cmake-shared      find_package(libsync) + libsync::sync, shared install
#   cmake-static      find_package(libsync) + libsync::sync_static, same install
#   pkg-config        g++ main.cpp $(pkg-config --cflags --libs libsync), shared install
#   pkg-config-static g++ main.cpp $(pkg-config --static --cflags --libs libsync), static-only install
#
# The static-only install comes from this build (BUILD_DIR); the shared one
# from a fresh -DLIBSYNC_SHARED=ON build of the library alone. Both go to
# prefixes that are not where they were configured for, so the pkg-config
# file has to find its own prefix. Linking is checked too: the shared routes
# must need libsync.so.<ABI>, the static ones must not need any libsync.so.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
get_filename_component(readme_example ${WORK_DIR}/../readme_example.cpp ABSOLUTE)
if(NOT EXISTS ${readme_example})
  message(FATAL_ERROR "the README example was not extracted to ${readme_example}")
endif()
file(STRINGS ${BUILD_DIR}/CMakeCache.txt cxx_line REGEX "^CMAKE_CXX_COMPILER:")
string(REGEX REPLACE "^[^=]*=" "" cxx "${cxx_line}")
find_program(PKG_CONFIG pkg-config REQUIRED)
find_program(READELF readelf REQUIRED)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "${what} failed (${r}):\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# needs_libsync(<binary> <yes|no>): checks the dynamic section.
function(check_needed route binary expect)
  run("readelf ${binary}" ${READELF} -d ${binary})
  if(run_out MATCHES "NEEDED[^\n]*libsync\\.so")
    set(has yes)
  else()
    set(has no)
  endif()
  if(NOT has STREQUAL expect)
    message(FATAL_ERROR "${route}: ${binary} needs libsync.so: ${has}, expected ${expect}\n${run_out}")
  endif()
  if(expect STREQUAL yes AND NOT run_out MATCHES "NEEDED[^\n]*libsync\\.so\\.${ABI}")
    message(FATAL_ERROR "${route}: ${binary} does not name the SONAME libsync.so.${ABI}\n${run_out}")
  endif()
endfunction()

# -- the two installs
set(static_prefix ${WORK_DIR}/static-prefix)
set(shared_prefix ${WORK_DIR}/shared-prefix)
run("installing the static build" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${static_prefix} --component dev)
run("configuring the shared library" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/shared-build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBSYNC_SHARED=ON -DLIBSYNC_BUILD_TESTS=OFF -DLIBSYNC_BUILD_APPS=OFF
    -DCMAKE_INSTALL_PREFIX=/opt/not-here)
run("building the shared library" ${CMAKE_COMMAND} --build ${WORK_DIR}/shared-build)
foreach(c runtime dev)
  run("installing the shared build (${c})" ${CMAKE_COMMAND} --install ${WORK_DIR}/shared-build
      --prefix ${shared_prefix} --component ${c})
endforeach()
file(GLOB sonames ${shared_prefix}/lib*/libsync.so.*)
if(NOT sonames)
  message(FATAL_ERROR "the shared install has no libsync.so.N")
endif()
file(GLOB abi_link ${shared_prefix}/lib*/libsync.so.[0-9])
list(GET abi_link 0 abi_link)
string(REGEX REPLACE ".*libsync\\.so\\." "" ABI "${abi_link}")
message(STATUS "shared library: ${sonames} (ABI ${ABI})")
file(GLOB shared_libdir LIST_DIRECTORIES true ${shared_prefix}/lib*)
file(GLOB static_libdir LIST_DIRECTORIES true ${static_prefix}/lib*)

# Only libsync's own symbols are exported (hidden visibility + LIBSYNC_API),
# besides weak or unique instances of libstdc++ templates: libstdc++ gives its
# namespace default visibility, and every binary that uses one has them.
run("nm" nm -D --defined-only -C ${abi_link})
string(REGEX MATCHALL "[^\n]+" syms "${run_out}")
set(foreign "")
foreach(s IN LISTS syms)
  if(NOT s MATCHES "^[0-9a-f]+ [A-Za-z] [^(]*libsync::" AND
     NOT s MATCHES " [A-Za-z] (_init|_fini|_edata|_end|__bss_start)$" AND
     NOT s MATCHES "^[0-9a-f]+ [WVu] [^\n]*std::")
    string(APPEND foreign "  ${s}\n")
  endif()
endforeach()
if(foreign)
  message(FATAL_ERROR "libsync.so exports symbols outside namespace libsync:\n${foreign}")
endif()

# -- CMake routes
foreach(route cmake-shared cmake-static)
  if(route STREQUAL cmake-shared)
    set(target libsync::sync)
    set(expect yes)
  else()
    set(target libsync::sync_static)
    set(expect no)
  endif()
  run("${route}: configuring the consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer
      -B ${WORK_DIR}/${route} -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${shared_prefix} -DLIBSYNC_TARGET=${target}
      -DREADME_EXAMPLE=${readme_example})
  run("${route}: building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/${route})
  foreach(exe consumer readme_example)
    check_needed(${route} ${WORK_DIR}/${route}/${exe} ${expect})
    run("${route}: running ${exe}" ${WORK_DIR}/${route}/${exe})
    message(STATUS "${route}: ${exe} ran: ${run_out}")
  endforeach()
endforeach()

# -- pkg-config routes: exactly the README's command line
foreach(route pkg-config pkg-config-static)
  if(route STREQUAL pkg-config)
    set(ENV{PKG_CONFIG_PATH} "${shared_libdir}/pkgconfig")
    set(pc_args --cflags --libs libsync)
    set(expect yes)
  else()
    set(ENV{PKG_CONFIG_PATH} "${static_libdir}/pkgconfig")
    set(pc_args --static --cflags --libs libsync)
    set(expect no)
  endif()
  run("${route}: pkg-config" ${PKG_CONFIG} ${pc_args})
  string(STRIP "${run_out}" flags)
  message(STATUS "${route}: pkg-config ${pc_args}: ${flags}")
  if(flags MATCHES "/usr/local|/opt/not-here")
    message(FATAL_ERROR "${route}: the .pc file names the configured prefix, not where it lies: ${flags}")
  endif()
  separate_arguments(flag_list UNIX_COMMAND "${flags}")
  foreach(src consumer:${SOURCE_DIR}/tests/package/consumer/main.cpp readme_example:${readme_example})
    string(REGEX REPLACE ":.*" "" exe "${src}")
    string(REGEX REPLACE "^[^:]*:" "" file "${src}")
    set(bin ${WORK_DIR}/${route}-${exe})
    run("${route}: compiling ${exe}" ${cxx} ${file} ${flag_list} -o ${bin})
    check_needed(${route} ${bin} ${expect})
    if(expect STREQUAL yes)
      # A prefix outside the loader's path: as a user of such a prefix would.
      set(ENV{LD_LIBRARY_PATH} "${shared_libdir}")
    endif()
    run("${route}: running ${exe}" ${bin})
    unset(ENV{LD_LIBRARY_PATH})
    message(STATUS "${route}: ${exe} ran: ${run_out}")
  endforeach()
endforeach()
