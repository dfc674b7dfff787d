# SPDX-License-Identifier: MIT
# Fuzz harness for the frame input path (tests/fuzz/fuzz_input.c).
#
# fuzz_input_replay: the harness with a replay main; CTest runs it over the
# seed corpus (label unit), so every build -- and the sanitizer builds in
# particular -- checks that the seeds survive without a crash or a leak.
#
# fuzz_input (cmake -DMOAT_FUZZ=ON, clang only): the libFuzzer target, with
# the core compiled in and instrumented. Run it as
#   build/tests/fuzz_input -max_total_time=600 NEWCORPUS tests/fuzz/corpus
option(MOAT_FUZZ "Build the libFuzzer target fuzz_input (clang)" OFF)

add_executable(fuzz_input_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_input.c)
target_include_directories(fuzz_input_replay PRIVATE ${PROJECT_SOURCE_DIR}
  ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core)
target_link_libraries(fuzz_input_replay PRIVATE moat_static)
add_test(NAME fuzz_input_replay
  COMMAND fuzz_input_replay ${CMAKE_CURRENT_LIST_DIR}/corpus)
set_tests_properties(fuzz_input_replay PROPERTIES
  LABELS "unit;fuzz;backend:${MOAT_BACKEND}" TIMEOUT 300)

if(MOAT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MOAT_FUZZ needs clang (libFuzzer): cmake -DCMAKE_C_COMPILER=clang")
  endif()
  add_executable(fuzz_input ${CMAKE_CURRENT_LIST_DIR}/fuzz_input.c ${MOAT_CORE_SOURCES})
  target_include_directories(fuzz_input PRIVATE ${PROJECT_SOURCE_DIR}
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core)
  target_compile_definitions(fuzz_input PRIVATE MOAT_LIBFUZZER)
  target_compile_options(fuzz_input PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_input PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
