# SPDX-License-Identifier: MIT
# The fuzz harnesses (tests/fuzz/fuzz_*.c, shared support in fz.c; see
# docs/fuzzing.md). For each harness H:
#
# H_replay: the harness with fz.c's replay main, linked against the
# ordinary library; CTest runs it over tests/fuzz/corpus/H (labels unit,
# core) in every build with MOAT_CORE_TESTS -- the sanitizer builds in
# particular. The harnesses drive the core and the link ring directly, not
# a backend, so scripts/test.sh replays them once, in its core build.
#
# H (cmake -DMOAT_FUZZ=ON, clang only): the libFuzzer target, with the core
# (and the sources the harness drives) compiled in and instrumented,
# ASan+UBSan. scripts/test.sh fuzzes each for a short budget; scripts/fuzz.sh
# runs a long campaign:
#   build/fuzz/tests/fuzz_tcp -max_total_time=600 NEWCORPUS tests/fuzz/corpus/fuzz_tcp
option(MOAT_FUZZ "Build the libFuzzer targets tests/fuzz/fuzz_* (clang)" OFF)

set(MOAT_FUZZ_HARNESSES fuzz_input fuzz_proto fuzz_tcp fuzz_sockctl fuzz_linkring)

if(MOAT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MOAT_FUZZ needs clang (libFuzzer): cmake -DCMAKE_C_COMPILER=clang")
  endif()
  # The code under test, instrumented once for every harness: the core and
  # the net side of the link boundary. -fno-sanitize=null: a null
  # dereference is still a crash (ASan's SEGV report); UBSan's check of
  # every pointer access was a traced comparison each (docs/fuzzing.md).
  add_library(moat_fuzz_objs OBJECT ${MOAT_CORE_SOURCES}
    ${PROJECT_SOURCE_DIR}/link/linkring.c
    ${PROJECT_SOURCE_DIR}/link/linkring_net.c ${PROJECT_SOURCE_DIR}/link/linkring_dev.c
    ${PROJECT_SOURCE_DIR}/ports/linux/gso.c)
  target_include_directories(moat_fuzz_objs PRIVATE ${PROJECT_SOURCE_DIR}
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core)
  target_compile_definitions(moat_fuzz_objs PRIVATE MOAT_LIBFUZZER)
  target_compile_options(moat_fuzz_objs PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=null)
  # The shared harness support (checksums of every frame, the ctl-ring
  # client, timers loop) is checked by ASan+UBSan but gives the fuzzer no
  # coverage feedback: its edges and comparisons say nothing about the code
  # under test, and tracing them (trace-cmp in the checksum loops) took
  # about a tenth of fuzz_tcp's time.
  add_library(moat_fuzz_support OBJECT ${CMAKE_CURRENT_LIST_DIR}/fz.c
    ${PROJECT_SOURCE_DIR}/app/msg_enc.c)
  target_include_directories(moat_fuzz_support PRIVATE ${PROJECT_SOURCE_DIR}
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core)
  target_compile_definitions(moat_fuzz_support PRIVATE MOAT_LIBFUZZER)
  target_compile_options(moat_fuzz_support PRIVATE -fsanitize=address,undefined)
endif()

# Corpus directories that belong to no harness of the list (seeds kept for
# a parser that has no harness of its own yet) are replayed as frames by
# the frame harness, fuzz_input.
file(GLOB _fuzz_dirs LIST_DIRECTORIES true ${CMAKE_CURRENT_LIST_DIR}/corpus/*)
set(MOAT_FUZZ_CORPUS_fuzz_input ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_input)
foreach(d ${_fuzz_dirs})
  get_filename_component(_n ${d} NAME)
  if(IS_DIRECTORY ${d} AND NOT _n IN_LIST MOAT_FUZZ_HARNESSES)
    list(APPEND MOAT_FUZZ_CORPUS_fuzz_input ${d})
  endif()
endforeach()

foreach(h ${MOAT_FUZZ_HARNESSES})
  if(NOT DEFINED MOAT_FUZZ_CORPUS_${h})
    set(MOAT_FUZZ_CORPUS_${h} ${CMAKE_CURRENT_LIST_DIR}/corpus/${h})
  endif()
  add_executable(${h}_replay ${CMAKE_CURRENT_LIST_DIR}/${h}.c ${CMAKE_CURRENT_LIST_DIR}/fz.c)
  target_include_directories(${h}_replay PRIVATE ${PROJECT_SOURCE_DIR}
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core)
  target_link_libraries(${h}_replay PRIVATE moat_static)
  add_test(NAME ${h}_replay COMMAND ${h}_replay ${MOAT_FUZZ_CORPUS_${h}})
  set_tests_properties(${h}_replay PROPERTIES
    LABELS "unit;fuzz;core" TIMEOUT 300)

  if(MOAT_FUZZ)
    add_executable(${h} ${CMAKE_CURRENT_LIST_DIR}/${h}.c $<TARGET_OBJECTS:moat_fuzz_objs>
      $<TARGET_OBJECTS:moat_fuzz_support>)
    target_include_directories(${h} PRIVATE ${PROJECT_SOURCE_DIR}
      ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/core)
    target_compile_definitions(${h} PRIVATE MOAT_LIBFUZZER)
    target_compile_options(${h} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${h} PRIVATE -fsanitize=fuzzer,address,undefined)
  endif()
endforeach()
