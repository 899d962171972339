# cmake -DCOMPILER=<c++> -DINCLUDE=<dir> -DINCLUDE_GENERATED=<dir> -DSOURCE=<file> -DCASES=<n;...>
#       [-DPROBE=<file> -DFALLBACK=<c++>] -P check_nodiscard.cmake
#
# For each case: the snippet must compile with its result kept, and must
# fail with an unused-result diagnostic when the result is dropped. With
# PROBE, the cases are checked by the first of COMPILER and FALLBACK that
# diagnoses the probe at all; when neither does, the test reports SKIPPED.
cmake_minimum_required(VERSION 3.25)
# INCLUDE_GENERATED: where the build wrote sync/config.hpp.
set(flags -std=c++20 -fsyntax-only -Werror=unused-result -I${INCLUDE} -I${INCLUDE_GENERATED})

function(compile compiler src out_rc out_text)
  execute_process(COMMAND ${compiler} ${flags} ${ARGN} ${src}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${o}${e}" PARENT_SCOPE)
endfunction()

if(PROBE)
  set(chosen "")
  foreach(c IN ITEMS ${COMPILER} ${FALLBACK})
    compile(${c} ${PROBE} rc text)
    if(NOT rc EQUAL 0 AND text MATCHES "unused-result")
      set(chosen ${c})
      break()
    endif()
  endforeach()
  if(NOT chosen)
    message("SKIPPED: neither ${COMPILER} nor '${FALLBACK}' diagnoses a dropped [[nodiscard]] co_await result "
            "(g++ 12 does not; install clang to check these cases)")
    return()
  endif()
  set(COMPILER ${chosen})
endif()
message("checking with ${COMPILER}")

set(failures "")
foreach(n IN LISTS CASES)
  compile(${COMPILER} ${SOURCE} rc text -DCASE=${n} -DUSE_RESULT)
  if(NOT rc EQUAL 0)
    list(APPEND failures "case ${n} does not build even with its result kept:\n${text}")
    continue()
  endif()
  compile(${COMPILER} ${SOURCE} rc text -DCASE=${n})
  if(rc EQUAL 0)
    list(APPEND failures "case ${n}: the dropped result compiled without a diagnostic")
  elseif(NOT text MATCHES "unused-result")
    list(APPEND failures "case ${n} failed, but not with an unused-result diagnostic:\n${text}")
  else()
    string(REGEX MATCH "[^\n]*unused-result[^\n]*" line "${text}")
    message("case ${n}: ${line}")
  endif()
endforeach()
if(failures)
  string(JOIN "\n" msg ${failures})
  message(FATAL_ERROR "${msg}")
endif()
