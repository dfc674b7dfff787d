# SPDX-License-Identifier: MIT
# Unit-test extras that are not one-Check-program-per-file (included by
# tests/CMakeLists.txt).
#
# test_no_globals: the core must not have mutable global state (two stacks
# run in one process; DESIGN.md section 5). It runs nm over every object of
# moat_core and fails on any writable data symbol (.data, .bss, common,
# small-data). Read-only tables (.rodata) are fine.
add_test(NAME test_no_globals
  COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${CMAKE_OBJDUMP}
          "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:moat_core>,|>"
          -P ${CMAKE_CURRENT_LIST_DIR}/no_globals.cmake)
set_tests_properties(test_no_globals PROPERTIES
  LABELS "unit;core" TIMEOUT 60)

# test_core_min: the smallest core (no TCP, no DHCP client; ports/baremetal
# builds it as moat_baremetal_min) driven by the unit fixture, which needs
# nothing but the core. Its source is not named test_*.c so that the glob
# in tests/CMakeLists.txt does not link it against the full core. The
# fixture's message encoding is the client's own pure part (app/msg_enc.c,
# OS-free), compiled in here.
add_executable(test_core_min ${CMAKE_CURRENT_LIST_DIR}/min/core_min.c
  ${PROJECT_SOURCE_DIR}/tests/support/fx.c ${PROJECT_SOURCE_DIR}/tests/support/fx6.c
  ${PROJECT_SOURCE_DIR}/app/msg_enc.c)
target_include_directories(test_core_min PRIVATE ${PROJECT_SOURCE_DIR}/include
  ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(test_core_min PRIVATE MOAT_CORE_TCP=0 MOAT_CORE_DHCP=0)
target_link_libraries(test_core_min PRIVATE moat_baremetal_min PkgConfig::CHECK)
add_test(NAME test_core_min COMMAND test_core_min)
set_tests_properties(test_core_min PROPERTIES
  LABELS "unit;core" TIMEOUT 120)

# test_fetch_url: moat-fetch's URL parser and address order live in
# examples/fetch_url.c (public headers only); the test links that file.
target_sources(test_fetch_url PRIVATE ${PROJECT_SOURCE_DIR}/examples/fetch_url.c)
