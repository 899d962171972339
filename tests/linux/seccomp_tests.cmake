# libsync under a seccomp filter that refuses io_uring with EPERM: the probe
# must say so and blame seccomp, auto must fall back to generic on epoll, and
# a tier suite must pass there. Needs syncbench, so not in the sanitizer
# builds (apps off).
if(NOT TARGET syncbench)
  return()
endif()
add_executable(seccomp_deny_io_uring ${CMAKE_CURRENT_LIST_DIR}/seccomp_deny_io_uring.cpp)
add_executable(seccomp_io_uring_test ${CMAKE_CURRENT_LIST_DIR}/seccomp_io_uring_test.cpp
               ${PROJECT_SOURCE_DIR}/apps/syncbench/json_value.cpp
               ${CMAKE_CURRENT_LIST_DIR}/../syncbench/child_process.cpp)
target_include_directories(seccomp_io_uring_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../syncbench
                                                         ${PROJECT_SOURCE_DIR}/apps/syncbench)
add_dependencies(seccomp_io_uring_test seccomp_deny_io_uring syncbench semaphore_suite)
add_test(NAME seccomp_refusing_io_uring_falls_back_to_epoll
         COMMAND seccomp_io_uring_test $<TARGET_FILE:seccomp_deny_io_uring> $<TARGET_FILE:syncbench>
                 $<TARGET_FILE:semaphore_suite>)
set_tests_properties(seccomp_refusing_io_uring_falls_back_to_epoll PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
