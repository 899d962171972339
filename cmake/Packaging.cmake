# Debian packages with CPack. In a build configured with -DLIBSYNC_SHARED=ON
# and -DCMAKE_INSTALL_PREFIX=/usr, `cpack -G DEB` makes four packages, one per
# install component:
#
#   libsync3      runtime      the shared library (libsync.so.3, named by its SONAME)
#   libsync-dev   dev          headers, libsync.a, the libsync.so link, CMake and pkg-config files
#   syncbench     syncbench    the benchmark CLI
#   demo-server   demo-server  the HTTP server, its config (a conffile), its systemd unit, a system user
#
# Dependencies on Debian's own packages are computed by dpkg-shlibdeps;
# the ones between these packages come from the component dependencies.
# scripts/package-ci.sh builds, inspects, unpacks and lintian-checks them.
include(GNUInstallDirs)

set(LIBSYNC_DEB_MAINTAINER "libsync developers <libsync@example.org>" CACHE STRING
    "Maintainer field of the Debian packages")
set(LIBSYNC_DEB_RELEASE 1)

# Every package carries /usr/share/doc/<package>/copyright and
# changelog.Debian.gz (Debian policy 12.5 and 12.7).
set(_deb_doc_dir ${CMAKE_BINARY_DIR}/debian-doc)
file(READ ${PROJECT_SOURCE_DIR}/LICENSE _license)
string(REGEX REPLACE "\n$" "" _license "${_license}")
string(REGEX REPLACE "\n\n" "\n.\n" _license "${_license}")
string(REGEX REPLACE "\n" "\n " _license "${_license}")
file(WRITE ${_deb_doc_dir}/copyright
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: libsync\n\n"
  "Files: *\n"
  "Copyright: 2026 The libsync authors\n"
  "License: Expat\n"
  " ${_license}\n")
# (string(TIMESTAMP) honours SOURCE_DATE_EPOCH, for reproducible packages.)
string(TIMESTAMP _deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
find_program(GZIP_PROGRAM gzip)

set(_deb_components runtime dev syncbench demo-server)
set(_deb_name_runtime libsync${LIBSYNC_ABI_VERSION})
set(_deb_name_dev libsync-dev)
set(_deb_name_syncbench syncbench)
set(_deb_name_demo-server demo-server)
foreach(comp IN LISTS _deb_components)
  set(pkg ${_deb_name_${comp}})
  file(WRITE ${_deb_doc_dir}/${pkg}/changelog.Debian
    "${pkg} (${PROJECT_VERSION}-${LIBSYNC_DEB_RELEASE}) unstable; urgency=medium\n\n"
    "  * Built from the libsync source tree with CPack.\n\n"
    " -- ${LIBSYNC_DEB_MAINTAINER}  ${_deb_date}\n")
  if(GZIP_PROGRAM)
    execute_process(COMMAND ${GZIP_PROGRAM} -9nf ${_deb_doc_dir}/${pkg}/changelog.Debian)
  endif()
  install(FILES ${_deb_doc_dir}/copyright ${_deb_doc_dir}/${pkg}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg} COMPONENT ${comp} EXCLUDE_FROM_ALL)
endforeach()

# demo-server: the config as a conffile and the systemd unit, made from
# configs/demo-server.service for a packaged binary: /usr/bin, and the
# package's system user instead of a dynamic one.
if(TARGET demo-server)
  install(FILES ${PROJECT_SOURCE_DIR}/configs/demo-server.toml
          DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/demo-server COMPONENT demo-server EXCLUDE_FROM_ALL)
  file(READ ${PROJECT_SOURCE_DIR}/configs/demo-server.service _unit)
  string(REPLACE "@DEMO_SERVER_BIN@" "${CMAKE_INSTALL_FULL_BINDIR}/demo-server" _unit "${_unit}")
  string(REPLACE "@DEMO_SERVER_CONFIG@" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/demo-server/demo-server.toml" _unit "${_unit}")
  string(REPLACE "DynamicUser=yes" "User=demo-server\nGroup=demo-server" _unit "${_unit}")
  string(REGEX REPLACE "^# demo-server as a hardened systemd service\\.\n#\n# Install[^\n]*\n(#[^\n]+\n)+#\n"
         "# demo-server as a hardened systemd service, installed by the demo-server package\n# (systemctl enable --now demo-server).\n#\n" _unit "${_unit}")
  file(WRITE ${CMAKE_BINARY_DIR}/debian-unit/demo-server.service "${_unit}")
  install(FILES ${CMAKE_BINARY_DIR}/debian-unit/demo-server.service
          DESTINATION /lib/systemd/system COMPONENT demo-server EXCLUDE_FROM_ALL)
endif()

set(CPACK_PACKAGE_NAME libsync)
set(CPACK_PACKAGE_VENDOR "The libsync authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Empty: CPack would put a summary before every package's own synopsis
# (the first line of each description below).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_CONTACT "${LIBSYNC_DEB_MAINTAINER}")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${_deb_components})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${LIBSYNC_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${LIBSYNC_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/libsync")
# dpkg-shlibdeps must find libsync.so.3 for the two programs, which link it;
# the dependency on libsync3 itself comes from the component dependencies.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/libsync)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${_deb_name_runtime})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/runtime/triggers)
string(CONCAT CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "async semaphore, mutex, condvar and event for C++20 coroutines\n"
    "libsync gives C++20 coroutines FIFO semaphores, mutexes, condition\n"
    "variables and events on one event loop per thread. On Linux 6.7 and\n"
    "later a waiting task sleeps as an io_uring futex wait, so I/O and\n"
    "synchronization wakeups arrive on one completion queue.\n"
    ".\n"
    "This package contains the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsync-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "liburing-dev")
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
string(CONCAT CPACK_DEBIAN_DEV_DESCRIPTION
    "async semaphore, mutex, condvar and event for C++20 (development)\n"
    "libsync gives C++20 coroutines FIFO semaphores, mutexes, condition\n"
    "variables and events on one event loop per thread.\n"
    ".\n"
    "This package contains the headers, the static library, and the CMake\n"
    "(find_package(libsync)) and pkg-config (libsync.pc) files.")

set(CPACK_DEBIAN_SYNCBENCH_PACKAGE_NAME syncbench)
set(CPACK_DEBIAN_SYNCBENCH_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_SYNCBENCH_DEPENDS runtime)
string(CONCAT CPACK_DEBIAN_SYNCBENCH_DESCRIPTION
    "probe and benchmark libsync's wait tiers on this system\n"
    "syncbench probe reports what the kernel offers libsync (io_uring\n"
    "futex operations, futex2, the private futex hash) and which tier it\n"
    "picks; syncbench bench measures every tier beside std:: and\n"
    "Boost.Asio baselines in the same run; syncbench compare judges two\n"
    "runs against their own noise.")

set(CPACK_DEBIAN_DEMO-SERVER_PACKAGE_NAME demo-server)
set(CPACK_DEBIAN_DEMO-SERVER_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DEMO-SERVER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_DEMO-SERVER_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/demo-server/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/demo-server/postrm
    ${PROJECT_SOURCE_DIR}/cmake/debian/demo-server/conffiles)
set(CPACK_COMPONENT_DEMO-SERVER_DEPENDS runtime)
string(CONCAT CPACK_DEBIAN_DEMO-SERVER_DESCRIPTION
    "HTTP/1.1 demo server on libsync event loops\n"
    "An HTTP/1.1 server built from Boost.Beast's parser and serializer on\n"
    "libsync's loops, with handlers gated by libsync semaphores, Prometheus\n"
    "metrics, a live dashboard and a graceful SIGTERM drain. It runs as the\n"
    "demo-server system user from a hardened systemd unit.")

include(CPack)
