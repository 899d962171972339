# Compile-time checks that dropping a permit, guard or awaiter is diagnosed.
# Each runs the compiler twice per case with -fsyntax-only: about 30 s and
# 20 s on two busy cores. The co_await cases need a compiler that diagnoses
# them at all (clang does, g++ 12 does not), so they fall back to clang++.
# Once per platform is enough: not again under the sanitizers or a cross-build.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT LIBSYNC_SANITIZE AND NOT CMAKE_CROSSCOMPILING)
  find_program(LIBSYNC_CLANGXX NAMES clang++ clang++-14)
  set(nd_dir ${CMAKE_CURRENT_LIST_DIR})
  set(nd_args -DCOMPILER=${CMAKE_CXX_COMPILER} -DINCLUDE=${PROJECT_SOURCE_DIR}/libsync/include -DINCLUDE_GENERATED=${LIBSYNC_GENERATED_INCLUDE}
              -DSOURCE=${nd_dir}/nodiscard_misuse.cpp)
  add_test(NAME dropped_permits_guards_and_awaiters_are_diagnosed
           COMMAND ${CMAKE_COMMAND} ${nd_args} "-DCASES=1;2;3;4;5;6;7;8;9" -P ${nd_dir}/check_nodiscard.cmake)
  add_test(NAME dropped_co_await_results_are_diagnosed
           COMMAND ${CMAKE_COMMAND} ${nd_args} "-DCASES=101;102;103;104" -DPROBE=${nd_dir}/nodiscard_probe.cpp
                   -DFALLBACK=${LIBSYNC_CLANGXX} -P ${nd_dir}/check_nodiscard.cmake)
  set_tests_properties(dropped_permits_guards_and_awaiters_are_diagnosed dropped_co_await_results_are_diagnosed
                       PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:" TIMEOUT 300)
endif()
